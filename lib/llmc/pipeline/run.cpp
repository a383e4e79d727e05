#include "llmc/pipeline/run.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "llmc/gates/gates.h"
#include "llmc/job/session.h"
#include "llmc/pipeline/stage_cache.h"
#include "llmc/recipe/parse.h"
#include "llmc/util/atomic_file.h"
#include "llmc/util/error.h"
#include "llmc/util/log.h"
#include "llmc/util/sha256.h"
#include "llmc_config.h"

namespace llmc::pipeline {

namespace fs = std::filesystem;

namespace {

// Marks an output directory as a pipeline's: a rerun may then write into it without --force.
constexpr const char* kPipelineMarker = ".llmc-pipeline.json";

enum class Status { ran, cached, failed_gate, skipped };

const char* status_name(Status s) {
  switch (s) {
    case Status::ran: return "ran";
    case Status::cached: return "cached";
    case Status::failed_gate: return "failed-gate";
    case Status::skipped: return "skipped";
  }
  return "";
}

// What the pipeline knows of one stage after its turn.
struct StageOutcome {
  Status status = Status::skipped;
  bool cached = false;
  std::string dir;
  std::string input, input_sha256;
  std::string key;
  util::Json record = util::Json::object();  // as stored in the stage's .llmc-stage.json
  std::string artifact;                      // "" when skipped
  bool passed = false;
  double seconds = 0;
};

// The output directory: refuses one that holds an input, or that is not a pipeline's (unless
// --force); marks it as a pipeline's.
void prepare_output(const PipelineRecipe& p, const job::RunOptions& options) {
  const std::string& out = p.common.output;
  std::vector<std::string> inputs = job::protected_paths(p.common, options);
  for (const auto& stage : p.stages) {
    inputs.insert(inputs.end(), stage.data_files.begin(), stage.data_files.end());
    if (!stage.head.model.empty()) inputs.push_back(stage.head.model);
  }
  // Its stages' directories are replaced as a whole, and a rerun may replace any of them: like
  // every subcommand's, the output directory must not hold an input.
  util::refuse_output_over_inputs(out, inputs);
  std::error_code ec;
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec)) {
      throw UsageError(fmt::format("output {} exists and is not a directory", out));
    }
    const bool ours = fs::exists(fs::path(out) / kPipelineMarker, ec);
    if (!ours && !fs::is_empty(out, ec) && !options.force) {
      throw UsageError(fmt::format(
          "output directory {} already exists and is not a `llmc run` output; pass --force to "
          "write the pipeline into it (it replaces only its stages' directories, compare/ and "
          "its report files there)",
          out));
    }
  }
  fs::create_directories(out, ec);
  if (ec) throw InternalError(fmt::format("cannot create {}: {}", out, ec.message()));
  util::Json marker = util::Json::object();
  marker["llmc_version"] = LLMC_VERSION;
  marker["recipe"] = p.path;
  util::write_file_atomic((fs::path(out) / kPipelineMarker).string(), marker.dump(2) + "\n");
}

util::Json gates_json(const std::vector<report::GateResult>& gates) {
  util::Json out = util::Json::array();
  for (const auto& g : gates) {
    util::Json e = util::Json::object();
    e["name"] = g.name;
    e["comparison"] = g.comparison;
    e["threshold"] = g.threshold;
    e["actual"] = g.actual ? util::Json(*g.actual) : util::Json(nullptr);
    e["passed"] = g.passed;
    out.push_back(e);
  }
  return out;
}

std::vector<report::GateResult> gates_from_json(const util::Json& j) {
  std::vector<report::GateResult> out;
  if (!j.is_array()) return out;
  for (const auto& e : j.as_array()) {
    report::GateResult g;
    g.name = e.at("name").as_string();
    g.comparison = e.at("comparison").as_string();
    g.threshold = e.at("threshold").as_double();
    if (!e.at("actual").is_null()) g.actual = e.at("actual").as_double();
    g.passed = e.at("passed").as_bool();
    out.push_back(g);
  }
  return out;
}

// The record a stage leaves in its output directory, from its report.
util::Json stage_record(const Stage& stage, const StageOutcome& o, const report::Report& r,
                        const std::vector<std::pair<std::string, std::string>>& data) {
  util::Json j = util::Json::object();
  j["key"] = o.key;
  j["llmc_version"] = LLMC_VERSION;
  j["name"] = stage.head.name;
  j["command"] = stage.head.command;
  j["input"] = o.input;
  j["input_sha256"] = o.input_sha256;
  j["options_sha256"] = util::sha256_hex(stage.options_json);
  util::Json d = util::Json::array();
  for (const auto& [path, sha] : data) d.push_back(util::Json::object({{"path", path}, {"sha256", sha}}));
  j["data"] = d;
  j["artifact_file"] = fs::path(r.result.path).filename().string();
  j["artifact_sha256"] = r.result.sha256;
  j["passed"] = r.passed();
  j["gates"] = gates_json(r.gates);
  j["seconds"] = o.seconds;
  j["summary"] = report::to_summary(r);
  j["details"] = r.details;
  util::Json warnings = util::Json::array();
  for (const auto& w : r.warnings) warnings.push_back(w);
  j["warnings"] = warnings;
  return j;
}

// The comparison: the original and every stage's artifact, in OUT/compare, through
// `llmc compare`'s own recipe parser and run; reused, as a stage is, when its recipe, every
// model and data file and llmc are unchanged (`cached` says so) and `rerun_all` is not set.
report::Report run_comparison(const PipelineRecipe& p, const std::vector<StageOutcome>& outcomes,
                              const RunRequest& request, bool rerun_all, bool& cached) {
  YAML::Node doc(YAML::NodeType::Map);
  for (const auto& kv : p.shared) {
    const std::string k = kv.first.Scalar();
    if (k != "model" && k != "output" && k != "gates") doc.force_insert(kv.first, kv.second);
  }
  const std::string out = (fs::path(p.common.output) / "compare").string();
  doc["output"] = path_for_document(out, p.path);
  YAML::Node models(YAML::NodeType::Sequence);
  auto add = [&](const std::string& name, const std::string& path, const std::string& curves) {
    YAML::Node m(YAML::NodeType::Map);
    m["name"] = name;
    m["path"] = path_for_document(path, p.path);
    if (!curves.empty()) m["distill_report"] = path_for_document(curves, p.path);
    models.push_back(m);
  };
  add("original", p.common.model, "");
  for (size_t i = 0; i < p.stages.size(); ++i) {
    if (outcomes[i].artifact.empty()) continue;
    const bool distill = p.stages[i].head.command == "distill";
    add(p.stages[i].head.name, outcomes[i].artifact,
        distill ? (fs::path(outcomes[i].dir) / "report.json").string() : "");
  }
  doc["compare"]["models"] = models;

  StageKeyInput key{"compare", canonical_json(doc).dump(), util::sha256_file_hex(p.common.model),
                    {}, LLMC_VERSION};
  for (const auto& o : outcomes) {
    if (!o.artifact.empty()) key.data_sha256.push_back(o.record.at("artifact_sha256").as_string());
  }
  for (const auto& f : p.common.input_paths) {
    if (f != p.common.model) key.data_sha256.push_back(sha256_path(f));
  }
  const std::string cache_key = stage_key(key);
  const auto record = read_stage_record(out);
  cached = !rerun_all && record && record_reusable(*record, cache_key, out);
  if (cached) {
    log::info("comparison: cached");
    const std::string path = (fs::path(out) / "report.json").string();
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    try {
      return report::from_json(util::parse_json(text.str()), path);
    } catch (const std::exception& e) {
      log::warn("comparison: the cached report cannot be read back ({}); measuring again",
                e.what());
      cached = false;
    }
  }
  RunRequest q;
  q.options = request.options;
  std::error_code ec;
  q.options.force = fs::exists(out, ec);  // the pipeline's own (its directory was checked)
  log::info("comparing the original and {} stage artifacts", models.size() - 1);
  report::Report r = find_command("compare")->run_document(p.path, doc, {}, q);
  util::Json rec = util::Json::object();
  rec["key"] = cache_key;
  rec["artifact_file"] = "report.json";
  rec["artifact_sha256"] = util::sha256_file_hex((fs::path(out) / "report.json").string());
  write_stage_record(out, rec);
  return r;
}

std::string stage_label(const PipelineRecipe& p, const Stage& s) {
  return fmt::format("stage {}/{} {}", s.index + 1, p.stages.size(), s.head.name);
}

// --rerun: the stages named (checked against the pipeline) or all.
struct Rerun {
  bool all = false;
  std::set<std::string> names;
};

Rerun parse_rerun(const PipelineRecipe& p, const std::vector<std::string>& names) {
  Rerun out;
  for (const auto& name : names) {
    if (name == "all") {
      out.all = true;
      continue;
    }
    bool found = false;
    std::string known;
    for (const auto& s : p.stages) {
      found = found || s.head.name == name;
      known += (known.empty() ? "" : ", ") + s.head.name;
    }
    if (!found) {
      throw UsageError(fmt::format("--rerun {}: the pipeline has no stage of that name (its "
                                   "stages: {}; or --rerun all)",
                                   name, known));
    }
    out.names.insert(name);
  }
  return out;
}

// Runs the stages in order, each from the cache when it can; returns the name of the stage whose
// failed gate stopped the pipeline ("" when none did).
std::string run_stages(const PipelineRecipe& p, const RunRequest& request, const Rerun& rerun,
                       std::vector<StageOutcome>& outcomes) {
  const auto& options = request.options;
  std::string stopped_by;
  std::string previous_artifact = p.common.model;
  bool upstream_ran = false;
  for (const auto& stage : p.stages) {
    auto& o = outcomes[stage.index];
    o.dir = (fs::path(p.common.output) / stage.head.name).string();
    const std::string label = stage_label(p, stage);
    if (!stopped_by.empty()) {
      log::info("{}: skipped (stage {} failed a gate)", label, stopped_by);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    o.input = stage.head.model.empty() ? previous_artifact : stage.head.model;
    o.input_sha256 = util::sha256_file_hex(o.input);
    std::vector<std::pair<std::string, std::string>> data;
    StageKeyInput key{stage.head.command, stage.options_json, o.input_sha256, {}, LLMC_VERSION};
    for (const auto& f : stage.data_files) {
      data.emplace_back(f, sha256_path(f));
      key.data_sha256.push_back(data.back().second);
    }
    o.key = stage_key(key);
    const auto record = read_stage_record(o.dir);
    const bool forced = rerun.all || rerun.names.count(stage.head.name) > 0 || upstream_ran;
    if (!forced && record && record_reusable(*record, o.key, o.dir)) {
      o.cached = true;
      o.record = *record;
      o.artifact = (fs::path(o.dir) / record->at("artifact_file").as_string()).string();
      o.passed = record->at("passed").as_bool();
      log::info("{}: cached", label);
    } else {
      log::info("{}: running llmc {}{}", label, stage.head.command,
                forced && record ? " (--rerun or an earlier stage ran)" : "");
      RunRequest q;
      q.options = options;
      std::error_code ec;
      // A directory this pipeline wrote (it has a stage record) is replaced; anything else
      // only with --force, as every subcommand's output.
      q.options.force = options.force || (fs::exists(o.dir, ec) && record.has_value());
      report::Report r;
      try {
        r = stage.command->run_document(p.path, stage_document(p, stage, o.input, o.dir), {}, q);
      } catch (const std::exception&) {
        log::warn("{}: failed", label);
        throw;
      }
      o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (r.result.sha256.empty()) r.result.sha256 = util::sha256_file_hex(r.result.path);
      o.artifact = r.result.path;
      o.passed = r.passed();
      o.record = stage_record(stage, o, r, data);
      write_stage_record(o.dir, o.record);
      upstream_ran = true;
      log::info("{}: ran in {:.1f} s", label, o.seconds);
    }
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    o.status = o.passed ? (o.cached ? Status::cached : Status::ran) : Status::failed_gate;
    if (!o.passed) {
      std::string failed;
      for (const auto& g : gates_from_json(o.record.at("gates"))) {
        if (!g.passed) failed += (failed.empty() ? "" : ", ") + g.name;
      }
      const bool stop = stage.head.on_gate_failure == OnGateFailure::stop;
      log::warn("{}: gate failed ({}){}", label, failed,
                stop ? "; the later stages are skipped" : "; on_gate_failure: continue");
      if (stop) stopped_by = stage.head.name;
    }
    previous_artifact = o.artifact;
  }

  return stopped_by;
}

// OUT/report.json, report.md (with a short stages table and each stage's summary) and
// report.html.
void write_reports(const PipelineRecipe& p, const report::Report& r) {
  const util::Json& rows = r.details.at("stages");
  const util::Json& stage_reports = r.details.at("stage_reports");
  // report.md: the stages in a table that reads (full hashes and data files are in report.json).
  report::Report for_markdown = r;
  for_markdown.details.as_object().erase("stage_reports");
  util::Json compact = util::Json::array();
  for (const auto& row : rows.as_array()) {
    util::Json c = util::Json::object();
    for (const char* key : {"name", "command", "status"}) c[key] = row.at(key);
    c["seconds"] = fmt::format("{:.2f}", row.at("seconds").as_double());
    const util::Json* artifact = row.find("artifact");
    c["artifact"] = artifact != nullptr ? *artifact : util::Json("–");
    for (const char* key : {"artifact_sha256", "cache_key"}) {
      const util::Json* v = row.find(key);
      c[key] = v != nullptr ? util::Json(v->as_string().substr(0, 12)) : util::Json("–");
    }
    compact.push_back(c);
  }
  for_markdown.details["stages"] = compact;
  std::string md = report::to_markdown(for_markdown);
  md += "\n## Stage reports\n";
  for (const auto& stage : p.stages) {
    const util::Json* s = stage_reports.find(stage.head.name);
    if (s == nullptr) continue;
    md += fmt::format("\n### {} (`llmc {}`)\n\n```\n{}```\n", stage.head.name, stage.head.command,
                      s->at("summary").as_string());
  }
  const fs::path out(p.common.output);
  util::write_file_atomic((out / "report.json").string(), report::to_json(r).dump(2) + "\n");
  util::write_file_atomic((out / "report.md").string(), md);
  util::write_file_atomic((out / "report.html").string(), report::to_html(r));
}

}  // namespace

report::Report run_pipeline(const PipelineRecipe& p, const RunRequest& request) {
  const auto& options = request.options;
  const Rerun rerun = parse_rerun(p, request.rerun);

  // One pipeline at a time on an output directory.
  {
    std::error_code ec;
    const fs::path parent = fs::path(p.common.output).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
  }
  util::OutputLock lock(p.common.output);
  prepare_output(p, options);

  std::vector<StageOutcome> outcomes(p.stages.size());
  const std::string stopped_by = run_stages(p, request, rerun, outcomes);

  bool comparison_cached = false;
  report::Report r = run_comparison(p, outcomes, request, rerun.all, comparison_cached);
  r.command = "run";
  if (comparison_cached) {  // the provenance is this run's
    r.provenance.started_at = report::utc_now_iso8601();
    r.provenance.command_line = options.command_line;
  }
  r.gates.clear();
  // Each stage's gates, then the final artifact's against the recipe's model.
  std::string last_passing;
  bool chain_passing = true;
  util::Json rows = util::Json::array();
  util::Json stage_reports = util::Json::object();
  for (const auto& stage : p.stages) {
    const auto& o = outcomes[stage.index];
    util::Json row = util::Json::object();
    row["name"] = stage.head.name;
    row["command"] = stage.head.command;
    row["status"] = status_name(o.status);
    row["cached"] = o.cached;
    row["seconds"] = o.seconds;
    if (o.status == Status::skipped) {
      rows.push_back(row);
      continue;
    }
    row["input"] = o.input;
    row["input_sha256"] = o.input_sha256;
    row["options_sha256"] = o.record.at("options_sha256");
    row["data"] = o.record.at("data");
    row["artifact"] = o.artifact;
    row["artifact_sha256"] = o.record.at("artifact_sha256");
    row["cache_key"] = o.key;
    row["report"] = (fs::path(stage.head.name) / "report.json").string();
    rows.push_back(row);
    for (auto g : gates_from_json(o.record.at("gates"))) {
      g.name = stage.head.name + ": " + g.name;
      r.gates.push_back(std::move(g));
    }
    if (const util::Json* w = o.record.find("warnings"); w != nullptr && w->is_array()) {
      for (const auto& text : w->as_array()) {
        r.warnings.push_back(stage.head.name + ": " + text.as_string());
      }
    }
    util::Json details = util::Json::object();
    details["summary"] = o.record.at("summary");
    details["details"] = o.record.at("details");
    stage_reports[stage.head.name] = details;
    chain_passing = chain_passing && o.passed;
    if (chain_passing) last_passing = o.artifact;
  }
  const auto& final_stage = p.stages.back();
  const auto& final_outcome = outcomes.back();
  if (stopped_by.empty() && !final_outcome.artifact.empty()) {
    // The comparison's rows: the original first, the final artifact last.
    report::Report pair;
    pair.original = r.models.front().side;
    pair.result = r.models.back().side;
    pair.agreement = r.models.back().agreement;
    const auto final_gates = gates::evaluate(p.common.gates, pair);
    for (auto g : final_gates) {
      if (!g.passed && final_outcome.artifact == last_passing) last_passing.clear();
      g.name = "final (" + final_stage.head.name + "): " + g.name;
      r.gates.push_back(std::move(g));
    }
    if (last_passing.empty() && chain_passing) {
      // The final artifact failed the final gates: the stage before it is the last passing.
      for (size_t i = p.stages.size() - 1; i-- > 0;) {
        if (!outcomes[i].artifact.empty()) {
          last_passing = outcomes[i].artifact;
          break;
        }
      }
    }
  } else if (!stopped_by.empty()) {
    r.warnings.push_back(fmt::format("the pipeline stopped at stage {} (a failed gate): the "
                                     "final gates were not checked",
                                     stopped_by));
  }
  r.details["stages"] = rows;
  r.details["stage_reports"] = stage_reports;
  r.details["last_passing_artifact"] =
      last_passing.empty() ? util::Json(nullptr) : util::Json(last_passing);
  r.details["final_artifact"] = final_outcome.artifact.empty() ? util::Json(nullptr)
                                                               : util::Json(final_outcome.artifact);
  r.details["comparison"] = (fs::path("compare") / "report.json").string();
  r.details["comparison_cached"] = comparison_cached;

  // The pipeline's reports, beside its stages' directories.
  write_reports(p, r);
  log::info("last passing artifact: {}", last_passing.empty() ? "none" : last_passing);
  return r;
}

CommandInfo command_entry(const CommandRow& row) {
  CommandInfo c;
  c.row = &row;
  c.parse_document = [](const std::string& name, YAML::Node root,
                        const std::vector<std::string>& sets) {
    const PipelineRecipe p = parse_pipeline_document(name, std::move(root), sets);
    ParsedRecipe out;
    out.common = p.common;
    // Every stage's inputs are the pipeline's (no output may replace them).
    auto add_input = [&out](const std::string& path) {
      auto& paths = out.common.input_paths;
      if (!path.empty() && std::find(paths.begin(), paths.end(), path) == paths.end()) {
        paths.push_back(path);
      }
    };
    for (const auto& stage : p.stages) {
      out.data.insert(out.data.end(), stage.data.begin(), stage.data.end());
      add_input(stage.head.model);
      for (const auto& f : stage.data_files) add_input(f);
    }
    return out;
  };
  c.keys = [] { return pipeline_keys(); };
  c.run_document = [](const std::string& name, YAML::Node root,
                      const std::vector<std::string>& sets, const RunRequest& request) {
    return run_pipeline(parse_pipeline_document(name, std::move(root), sets), request);
  };
  return c;
}

}  // namespace llmc::pipeline
