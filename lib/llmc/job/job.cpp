#include "llmc/job/job.h"

#include <fmt/format.h>
#include <torch/version.h>

#include "llmc/bench/measure.h"
#include "llmc/bench/memory_probe.h"
#include "llmc/metrics/agreement.h"
#include "llmc/metrics/metric_accumulator.h"
#include "llmc/gates/gates.h"
#include "llmc/model/inspect.h"
#include "llmc/model/load.h"
#include "llmc/passes/conv1d_to_linear.h"
#include "llmc/util/atomic_file.h"
#include "llmc/util/error.h"
#include "llmc/util/huge_pages.h"
#include "llmc/util/log.h"
#include "llmc/util/progress.h"
#include "llmc/util/sha256.h"
#include "llmc/util/threads.h"
#include "llmc_config.h"

namespace llmc::job {

std::string error_summary(const std::string& what) {
  size_t end = what.find_last_not_of(" \n");
  if (end == std::string::npos) return what;
  const size_t start = what.rfind('\n', end);
  return what.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

c10::IValue run_forward(torch::jit::Module& module, const data::Batch& batch,
                        const std::string& model_path) {
  torch::NoGradGuard no_grad;
  std::string what;
  try {
    return module.forward(batch.args);
  } catch (const c10::Error& e) {
    what = e.what_without_backtrace();
  } catch (const std::exception& e) {  // the interpreter rethrows with the model's traceback
    what = e.what();
  }
  log::debug("forward failed:\n{}", what);
  throw InputError(model_path, "forward failed on the measurement inputs: " + error_summary(what),
                   "check example_inputs (names, shapes, dtypes, ranges) or the data fields "
                   "against the model's forward (run with -v for the model's traceback)");
}

c10::IValue run_result_forward(torch::jit::Module& result, const data::Batch& batch,
                               const std::string& original_path, const std::string& command) {
  try {
    return run_forward(result, batch, original_path);
  } catch (const InputError& e) {
    // The original ran on these inputs: the failure is the transformation's, not the inputs'.
    const std::string what = e.what();
    const std::string marker = "forward failed on the measurement inputs: ";
    const auto at = what.find(marker);
    const std::string cause = at == std::string::npos ? what : what.substr(at + marker.size());
    throw InputError(original_path,
                     fmt::format("the {} result fails to run on inputs the original model runs "
                                 "on: {}",
                                 command, cause),
                     "an operator of this model does not work after the transformation (for "
                     "example in bf16); run with -v for the model's traceback, and exclude the "
                     "layer or choose another scheme");
  }
}

void check_token_ids(const data::SampleTable& table, const torch::jit::Module& model,
                     const std::string& model_path) {
  if (const auto rows = model::input_vocab_size(model)) {
    data::check_token_ids(table, *rows, model_path);
  }
}

data::SampleTable read_checked_samples(const recipe::DataSpec& spec, const recipe::TaskKind task,
                                       const torch::jit::Module& model,
                                       const std::string& model_path) {
  data::SampleTable table = data::read_samples(spec, model::forward_argument_names(model), task);
  check_token_ids(table, model, model_path);
  return table;
}

Inputs load_inputs(const recipe::CommonRecipe& common, const torch::jit::Module& model) {
  const auto args = model::forward_argument_names(model);
  if (!model.find_method("forward")) {
    throw InputError(common.model, "the model has no forward method");
  }
  Inputs in;
  std::optional<data::InputSet> example;
  if (!common.example_inputs.empty()) {
    example = data::make_example_inputs(common.example_inputs, args, common.seed, common.origin);
  }
  if (common.data) {
    in.samples = read_checked_samples(*common.data, common.task.type, model, common.model);
    in.agreement = data::make_batches(*in.samples, common.data->batch_size);
  } else {
    in.agreement = *example;
  }
  if (common.task.type == recipe::TaskKind::language_model) {
    for (auto& b : in.agreement.batches) data::attach_language_model_labels(b, args);
  }
  in.latency = example ? example->batches.front() : in.agreement.batches.front();
  return in;
}

namespace {

void fill_weights(report::ModelSide& side, const torch::jit::Module& m) {
  const auto w = model::weight_stats(m);
  side.parameter_count = w.count;
  side.parameter_bytes = w.bytes;
}

}  // namespace

void fill_provenance(report::Report& r, const RunOptions& options,
                     const util::ThreadSettings& threads) {
  auto& p = r.provenance;
  p.llmc_version = LLMC_VERSION;
  p.libtorch_version = TORCH_VERSION;
  p.recipe_path = options.recipe_path;
  p.recipe_sha256 = options.recipe_path.empty() ? "" : util::sha256_file_hex(options.recipe_path);
  p.command_line = options.command_line;
  p.threads = threads.describe();
  p.intra_op_threads = threads.intra_op;
  p.huge_pages = util::huge_pages_status();
  p.machine = util::machine_info();
}

void write_report(report::Report& r, const recipe::CommonRecipe& common,
                  const RunOptions& options, const util::ThreadSettings& threads,
                  util::OutputDir& out,
                  const std::vector<std::pair<std::string, std::string>>& extra_files) {
  auto gate_results = gates::evaluate(common.gates, r);
  r.gates.insert(r.gates.end(), gate_results.begin(), gate_results.end());

  fill_provenance(r, options, threads);

  util::write_file_atomic(out.file("report.json"), report::to_json(r).dump(2) + "\n");
  util::write_file_atomic(out.file("report.md"), report::to_markdown(r));
  for (const auto& [name, content] : extra_files) util::write_file_atomic(out.file(name), content);
  out.commit();
}

data::InputSet calibration_batches(const torch::jit::Module& model,
                                   const std::optional<recipe::DataSpec>& spec, int64_t count,
                                   const TransformInput& in) {
  data::InputSet set =
      spec ? data::make_batches(read_checked_samples(*spec, in.common.task.type, model,
                                                     in.common.model),
                                spec->batch_size)
           : data::InputSet{in.inputs.batches, in.inputs.source};
  if (static_cast<int64_t>(set.batches.size()) > count) set.batches.resize(static_cast<size_t>(count));
  return set;
}

void canonicalize_matrix_layers(torch::jit::Module& model, TransformResult& t) {
  const auto r = passes::conv1d_to_linear(model);
  if (!r.converted.empty()) {
    util::Json names = util::Json::array();
    for (const auto& n : r.converted) names.push_back(n);
    t.details["conv1d_as_linear"] = names;
    log::info("{} Conv1D layers (weight [in, out], addmm) treated as Linear layers",
              r.converted.size());
  }
  for (const auto& s : r.skipped) {
    t.warnings.push_back("a Conv1D layer was left as it is, so it is not quantized or pruned: " + s);
  }
}

void add_load_notes(const model::LoadNotes& notes, report::Report& r) {
  if (notes.sdpa_decomposed == 0 && notes.sdpa_left.empty()) return;
  util::Json sdpa = util::Json::object();
  sdpa["decomposed"] = notes.sdpa_decomposed;
  sdpa["mask_dtype_unknown"] = notes.sdpa_mask_dtype_unknown;
  r.details["scaled_dot_product_attention"] = sdpa;
  log::info("{} scaled_dot_product_attention calls (PyTorch 2.x attention) decomposed into "
            "matmul, softmax and matmul (pass decompose_sdpa)", notes.sdpa_decomposed);
  if (notes.sdpa_mask_dtype_unknown > 0) {
    r.warnings.push_back(fmt::format(
        "{} scaled_dot_product_attention calls have a mask whose dtype llmc could not tell "
        "from the model's code: they choose between the boolean and the additive form at run "
        "time (prim::If), which export-onnx cannot lower",
        notes.sdpa_mask_dtype_unknown));
  }
  for (const auto& left : notes.sdpa_left) {
    r.warnings.push_back("a scaled_dot_product_attention call was kept as it is: " + left);
  }
}

std::vector<std::string> protected_paths(const recipe::CommonRecipe& common,
                                         const RunOptions& options) {
  std::vector<std::string> out = common.input_paths;
  // A CommonRecipe not made by parsing (tests, tools) still protects its model and data.
  out.push_back(common.model);
  if (common.data) {
    out.push_back(common.data->path);
    out.push_back(common.data->tokenizer);
  }
  out.push_back(options.recipe_path);
  return out;
}

namespace {

// With -v: this process's resident and peak memory after a step of the run (where a large
// model's copies come from).
void log_memory(const char* step) {
  log::debug("memory after {}: resident {:.0f} MiB, peak {:.0f} MiB", step,
             static_cast<double>(bench::current_rss_bytes()) / (1 << 20),
             static_cast<double>(bench::peak_rss_bytes()) / (1 << 20));
}

}  // namespace

std::string check_memory(const Job& job, const recipe::CommonRecipe& common,
                         const RunOptions& options) {
  util::MemoryNeed need;
  if (job.memory_need) {
    need = job.memory_need(common);
  } else {
    need.weights = util::files_bytes({common.model});
    need.what = job.command + " holds two copies of the weights at its peak";
  }
  return util::check_memory(common.model, need, options.memory_check);
}

report::Report run(const Job& job, const recipe::CommonRecipe& common, const RunOptions& options) {
  report::Report r;
  r.command = job.command;
  r.provenance.started_at = report::utc_now_iso8601();
  const auto pool = common.thread_pool == recipe::ThreadPoolKind::libtorch
                        ? util::ThreadPool::libtorch
                        : util::ThreadPool::blas;
  const auto threads = util::configure_threads(static_cast<int>(common.threads), pool);
  log::debug("threads: {}", threads.describe());

  const std::string memory_warning = check_memory(job, common, options);
  if (!memory_warning.empty()) log::warn(memory_warning);
  util::OutputDir out(common.output, options.force, protected_paths(common, options));

  log::info("loading {}", common.model);
  model::LoadNotes load_notes;
  torch::jit::Module original = model::load(common.model, &load_notes);
  log_memory("loading the model");
  const Inputs inputs = load_inputs(common, original);
  const TransformInput tin{common, inputs.agreement, inputs.latency,
                           inputs.samples ? &*inputs.samples : nullptr};

  log::info("running {}", job.command);
  TransformResult t = job.transform(std::move(original), tin);
  original = torch::jit::Module();  // the transform's own copies hold what it still needs
  log_memory(job.command.c_str());

  // Memory: a large model is never held more than twice (artifact and reference). The artifact
  // is streamed to disk and dropped; it is measured as reloaded from the file, as a user will
  // load it. The reference stays in memory only when the transform made it (e.g. eval-freeze's
  // original in eval mode, which shares the artifact's tensors); it is written to a file of its
  // own for the memory probe.
  const std::string artifact_path = out.file("model.pt");
  model::save(t.artifact, artifact_path);
  t.artifact = torch::jit::Module();
  log_memory("saving the artifact");
  const std::string original_path = t.reference_path.empty() ? common.model : t.reference_path;
  std::string reference_file = original_path;
  if (t.reference) {
    reference_file = out.file(".reference.pt");
    model::save(*t.reference, reference_file);
  }
  // Peak memory of each model in its own process (before this one loads the artifact).
  std::string note;
  const int probe_threads = static_cast<int>(common.threads);
  if (common.bench.memory) {
    log::Progress probing("measuring memory", 2, log::ProgressUnit::count, "models");
    probing.update(0);
    r.original.memory = bench::measure_model_memory(reference_file, inputs.latency,
                                                    probe_threads, pool, t.quantized_engine, note);
    probing.update(1);
    r.result.memory = bench::measure_model_memory(artifact_path, inputs.latency, probe_threads,
                                                  pool, t.quantized_engine, note);
  }
  if (t.reference) std::filesystem::remove(reference_file);
  log_memory("measuring memory");

  torch::jit::Module artifact = model::load(artifact_path);
  const bool transform_made_reference = t.reference.has_value();
  torch::jit::Module reference =
      transform_made_reference ? *t.reference : model::load(original_path);
  t.reference.reset();
  if (!transform_made_reference) reference.eval();
  log_memory("reloading artifact and reference");

  r.original.path = original_path;
  r.result.path = (std::filesystem::path(common.output) / "model.pt").string();
  r.original.file_bytes = bench::file_bytes(original_path);
  r.result.file_bytes = bench::file_bytes(artifact_path);
  r.original.sha256 = util::sha256_file_hex(original_path);
  r.result.sha256 = util::sha256_file_hex(artifact_path);
  fill_weights(r.original, reference);
  fill_weights(r.result, artifact);
  r.details = std::move(t.details);
  r.warnings = std::move(t.warnings);
  if (!memory_warning.empty()) r.warnings.insert(r.warnings.begin(), memory_warning);
  add_load_notes(load_notes, r);
  r.inputs_source = inputs.agreement.source;
  r.input_rows = inputs.agreement.rows();
  r.latency_batch_rows = inputs.latency.rows;

  log::info("comparing outputs on {} rows", r.input_rows);
  // Batch by batch, keeping no outputs: a language model's logits over the data would not fit.
  metrics::AgreementAccumulator agreement(common.task);
  metrics::MetricAccumulator original_metric(common.task), result_metric(common.task);
  const bool metrics = common.task.type != recipe::TaskKind::none;
  log::Progress comparing("comparing outputs",
                          static_cast<int64_t>(inputs.agreement.batches.size()),
                          log::ProgressUnit::count, "batches");
  int64_t compared = 0;
  comparing.update(compared);
  for (const auto& batch : inputs.agreement.batches) {
    const c10::IValue ref_out = run_forward(reference, batch, original_path);
    const c10::IValue res_out = run_result_forward(artifact, batch, common.model, job.command);
    agreement.add(ref_out, res_out);
    if (metrics) {
      original_metric.add(ref_out, batch);
      result_metric.add(res_out, batch);
    }
    comparing.update(++compared);
  }
  comparing.done();
  r.agreement = agreement.result();
  log_memory("comparing outputs");
  if (metrics) {
    r.original.metrics = original_metric.result();
    r.result.metrics = result_metric.result();
  }

  if (job.verify) job.verify(artifact, tin, r);

  log::info("timing {} runs each (batch of {} rows, {})", common.bench.runs, inputs.latency.rows,
            threads.describe());
  log::Progress timing_progress("timing", common.bench.runs, log::ProgressUnit::count, "runs");
  const auto timing = bench::time_alternating(
      [&] { run_forward(reference, inputs.latency, original_path); },
      [&] { run_result_forward(artifact, inputs.latency, common.model, job.command); },
      common.bench.warmup, common.bench.runs, inputs.latency.rows,
      [&](int64_t done, int64_t) { timing_progress.update(done); });
  timing_progress.done();
  log_memory("timing");
  r.original.latency = timing.a;
  r.result.latency = timing.b;
  if (common.bench.memory && !note.empty()) {
    // No probe process here: both models measured in this one (the report's `isolated` says
    // not per model).
    r.warnings.push_back(note);
    r.original.memory = bench::measure_memory(
        [&] { run_forward(reference, inputs.latency, original_path); });
    r.result.memory = bench::measure_memory(
        [&] { run_result_forward(artifact, inputs.latency, common.model, job.command); });
    r.original.memory->isolated = false;
    r.result.memory->isolated = false;
  }

  write_report(r, common, options, threads, out, t.extra_files);
  if (t.after_commit) t.after_commit();
  log::info("wrote {}", common.output);
  return r;
}

}  // namespace llmc::job
