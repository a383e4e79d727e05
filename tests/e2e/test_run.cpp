// `llmc run` end to end on the tiny distillation student: prune → dynamic int8 → ONNX with
// every output, the stage cache (a rerun is all cached; a changed quantize option reruns
// quantize and export only), a failing stage gate (exit 1, later stages skipped, the last
// passing artifact named) and a bad key in stage 2 (exit 2 before anything runs). A pipeline
// with eval-freeze: recipes/examples/pipeline.yaml, run by "every example recipe runs".
#include <filesystem>

#include "torch_doctest.h"

#include "cli.h"
#include "test_support.h"

using llmc::test::fixture;
using llmc::test::has;
using llmc::test::read_json;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

std::string pipeline_recipe(const std::string& int8_extra) {
  return "recipe_version: 1\nmodel: " + fixture("distill_student.pt") +
         "\noutput: out\nthreads: 1\n"
         "data: {path: " + fixture("distill_test.jsonl") + ", labels: labels, batch_size: 16}\n"
         "task: {type: multi-label}\n"
         "bench: {warmup: 1, runs: 2, memory: false}\n"
         "gates: {min_cosine: 0.9}\n"
         "stages:\n"
         "  - {name: pruned, command: prune, sparsity: 0.3}\n"
         "  - {name: int8, command: quantize, scheme: dynamic-int8" + int8_extra + "}\n"
         "  - name: onnx\n    command: export-onnx\n    dynamic_axes:\n"
         "      input_ids: [batch, sequence]\n      attention_mask: [batch, sequence]\n";
}

// The statuses of the stages in report.json, "pruned=ran int8=cached ...".
std::string statuses(const llmc::util::Json& report) {
  std::string out;
  for (const auto& s : report.at("details").at("stages").as_array()) {
    out += (out.empty() ? "" : " ") + s.at("name").as_string() + "=" + s.at("status").as_string();
  }
  return out;
}

}  // namespace

TEST_CASE("run: prune -> int8 -> onnx, then all cached, then a changed option") {
  llmc::test::TempDir dir;
  dir.write("p.yaml", pipeline_recipe(""));
  const auto r = run_llmc({"run", "p.yaml"}, dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const fs::path out = dir.path() / "out";
  for (const char* f : {"pruned/model.pt", "pruned/report.json", "int8/model.pt", "int8/report.md",
                        "onnx/model.onnx", "onnx/report.json", "report.json", "report.md",
                        "report.html", "compare/report.json", "int8/.llmc-stage.json"}) {
    CAPTURE(f);
    CHECK(fs::exists(out / f));
  }
  auto report = read_json((out / "report.json").string());
  CHECK(report.at("command").as_string() == "run");
  CHECK(report.at("status").as_string() == "passed");
  CHECK(statuses(report) == "pruned=ran int8=ran onnx=ran");
  const auto& details = report.at("details");
  CHECK(details.at("last_passing_artifact").as_string() == "out/onnx/model.onnx");
  const auto& stages = details.at("stages").as_array();
  CHECK(stages[1].at("input").as_string() == "out/pruned/model.pt");
  CHECK(stages[1].at("input_sha256").as_string() == stages[0].at("artifact_sha256").as_string());
  CHECK(stages[1].at("artifact_sha256").as_string().size() == 64);
  CHECK(stages[1].at("cache_key").as_string().size() == 64);
  CHECK(details.at("stage_reports").at("int8").at("summary").as_string().rfind("quantize:", 0) == 0);
  // The comparison: the original and every stage, the ONNX file in ONNX Runtime.
  const auto& models = report.at("models").as_array();
  REQUIRE(models.size() == 4);
  CHECK(models[0].at("name").as_string() == "original");
  CHECK(models[3].at("runtime").as_string().rfind("onnxruntime ", 0) == 0);
  // Gates: the stages' own (export-onnx's verification) and the final artifact's against the
  // original.
  bool final_gate = false;
  for (const auto& g : report.at("gates").as_array()) {
    final_gate = final_gate || g.at("name").as_string() == "final (onnx): min_cosine";
  }
  CHECK(final_gate);
  const std::string html = llmc::test::read_text((out / "report.html").string());
  CHECK(has(html, "<h2>Stages</h2>"));
  CHECK(has(html, "Last passing artifact: <code>out/onnx/model.onnx</code>"));
  CHECK(has(r.err, "stage 2/3 int8: running llmc quantize"));

  // Nothing changed: every stage is reused.
  const auto again = run_llmc({"run", "p.yaml"}, dir.path().string());
  INFO(again.err);
  REQUIRE(again.code == 0);
  CHECK(has(again.err, "stage 1/3 pruned: cached"));
  report = read_json((out / "report.json").string());
  CHECK(statuses(report) == "pruned=cached int8=cached onnx=cached");
  CHECK(report.at("details").at("comparison_cached").as_bool());
  CHECK(report.at("models").size() == 4);
  CHECK(has(again.err, "comparison: cached"));

  // One quantize option changed: quantize and the export after it run again.
  const auto changed = run_llmc({"run", "p.yaml", "--set", "stages[1].per_channel=true"},
                                dir.path().string());
  INFO(changed.err);
  REQUIRE(changed.code == 0);
  report = read_json((out / "report.json").string());
  CHECK(statuses(report) == "pruned=cached int8=ran onnx=ran");
  CHECK_FALSE(report.at("details").at("comparison_cached").as_bool());

  // --rerun names a stage of the pipeline.
  const auto bad = run_llmc({"run", "p.yaml", "--rerun", "nope"}, dir.path().string());
  CHECK(bad.code == 2);
  CHECK(has(bad.err, "--rerun nope: the pipeline has no stage of that name"));
}

TEST_CASE("run: a failing stage gate stops the pipeline and names the last passing artifact") {
  llmc::test::TempDir dir;
  dir.write("p.yaml", pipeline_recipe(", gates: {max_abs_diff: 0}"));
  const auto r = run_llmc({"run", "p.yaml"}, dir.path().string());
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(has(r.err, "stage 2/3 int8: gate failed (max_abs_diff)"));
  CHECK(has(r.err, "stage 3/3 onnx: skipped"));
  CHECK(has(r.err, "llmc: error: quality gate failed: int8: max_abs_diff:"));
  const fs::path out = dir.path() / "out";
  CHECK_FALSE(fs::exists(out / "onnx"));
  const auto report = read_json((out / "report.json").string());
  CHECK(report.at("status").as_string() == "failed");
  CHECK(statuses(report) == "pruned=ran int8=failed-gate onnx=skipped");
  CHECK(report.at("details").at("last_passing_artifact").as_string() == "out/pruned/model.pt");
  CHECK(report.at("models").size() == 3);  // original, pruned, int8
}

TEST_CASE("run: on_gate_failure continue carries on; the final gates fail the run too") {
  llmc::test::TempDir dir;
  std::string recipe = pipeline_recipe(", gates: {max_abs_diff: 0}, on_gate_failure: continue");
  recipe = recipe.substr(0, recipe.find("  - name: onnx"));  // two stages
  const std::string gates = "gates: {min_cosine: 0.9}";
  recipe.replace(recipe.find(gates), gates.size(), "gates: {max_abs_diff: 0}");
  dir.write("p.yaml", recipe);
  const auto r = run_llmc({"run", "p.yaml"}, dir.path().string());
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(has(r.err, "stage 2/2 int8: gate failed (max_abs_diff); on_gate_failure: continue"));
  const auto report = read_json((dir.path() / "out/report.json").string());
  CHECK(statuses(report) == "pruned=ran int8=failed-gate");
  bool final_failed = false;
  for (const auto& g : report.at("gates").as_array()) {
    final_failed = final_failed || (g.at("name").as_string() == "final (int8): max_abs_diff" &&
                                    !g.at("passed").as_bool());
  }
  CHECK(final_failed);
  CHECK(report.at("details").at("last_passing_artifact").as_string() == "out/pruned/model.pt");
}

TEST_CASE("run: validate refuses a bad key in stage 2 before anything runs") {
  llmc::test::TempDir dir;
  dir.write("p.yaml", pipeline_recipe(", engine: onednn, shceme: x"));
  const auto v = run_llmc({"validate", "p.yaml"}, dir.path().string());
  CHECK(v.code == 2);
  CHECK(has(v.err, "p.yaml:11:75: stages[1].shceme: stage \"int8\" (quantize): unknown key "
                   "\"shceme\" (did you mean \"scheme\"?)"));
  const auto r = run_llmc({"run", "p.yaml"}, dir.path().string());
  CHECK(r.code == 2);
  CHECK(has(r.err, "stages[1].shceme"));
  CHECK_FALSE(fs::exists(dir.path() / "out"));
  // An existing directory that is not a pipeline's output is not written into without --force.
  dir.write("p.yaml", pipeline_recipe(""));
  dir.write("out/mine.txt", "the user's");
  const auto existing = run_llmc({"run", "p.yaml"}, dir.path().string());
  CHECK(existing.code == 2);
  CHECK(has(existing.err, "output directory out already exists and is not a `llmc run` output"));
  CHECK_FALSE(fs::exists(dir.path() / "out/pruned"));
}
