// `llmc eval-freeze` end to end: artifact, reports, determinism, exit codes, bad inputs.
#include <filesystem>
#include <fstream>

#include "torch_doctest.h"
#include <torch/script.h>

#include "cli.h"
#include "llmc/util/process.h"
#include "test_support.h"

using llmc::test::fixture;
using llmc::test::has;
using llmc::test::read_json;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

std::string bert_recipe(const std::string& model, const std::string& extra = "") {
  return "recipe_version: 1\nmodel: " + model +
         "\noutput: out\n"
         "example_inputs:\n"
         "  - {name: input_ids, shape: [4, 16], dtype: int64, range: [0, 1000]}\n"
         "  - {name: attention_mask, shape: [4, 16], dtype: int64, fill: 1}\n"
         "bench: {warmup: 1, runs: 3}\n"
         "gates: {max_abs_diff: 1.0e-4, min_cosine: 0.9999, min_label_agreement: 1.0}\n"
         "eval_freeze: {}\n" +
         extra;
}

std::vector<c10::IValue> bert_inputs() {
  torch::manual_seed(7);
  return {torch::randint(0, 1000, {4, 16}, torch::kLong), torch::ones({4, 16}, torch::kLong)};
}

at::Tensor run(torch::jit::Module& m, const std::vector<c10::IValue>& in) {
  torch::NoGradGuard g;
  return m.forward(in).toTensor();
}

}  // namespace

TEST_CASE("dropout active before, identical outputs after, equal to the original in eval mode") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write("r.yaml", bert_recipe(fixture("bert_tiny.pt")));
  const auto r = run_llmc({"eval-freeze", recipe}, dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);

  // Exactly what the issue asks: the model as given varies from run to run...
  auto original = torch::jit::load(fixture("bert_tiny.pt"));
  const auto in = bert_inputs();
  CHECK(original.is_training());
  CHECK_FALSE(at::equal(run(original, in), run(original, in)));
  // ...and the artifact, loaded with plain LibTorch, does not.
  auto frozen = torch::jit::load((dir.path() / "out/model.pt").string());
  const auto a = run(frozen, in);
  CHECK(at::equal(a, run(frozen, in)));
  CHECK(at::equal(a, run(frozen, in)));
  // Same numbers as the original in eval mode.
  original.eval();
  CHECK(at::allclose(a, run(original, in), 1e-5, 1e-6));
  // Frozen: no parameters left as attributes, no dropout in the graph.
  CHECK(frozen.named_parameters().size() == 0);
  std::ostringstream graph;
  graph << *frozen.get_method("forward").graph();
  CHECK(graph.str().find("aten::dropout") == std::string::npos);

  const auto report = read_json((dir.path() / "out/report.json").string());
  CHECK(report.at("schema_version").as_int() == 1);
  CHECK(report.at("command").as_string() == "eval-freeze");
  CHECK(report.at("status").as_string() == "passed");
  CHECK(report.at("details").at("original_deterministic_as_loaded").as_bool() == false);
  CHECK(report.at("details").at("artifact_deterministic").as_bool());
  CHECK(report.at("details").at("as_loaded_p50_ms").as_double() > 0);
  CHECK(report.at("details").at("speedup_vs_as_loaded").as_double() > 0);
  CHECK(report.at("agreement").at("max_abs_diff").as_double() < 1e-4);
  CHECK(report.at("agreement").at("label_agreement").as_double() == 1.0);
  CHECK(report.at("original").at("latency").at("runs").as_int() == 3);
  CHECK(report.at("result").at("latency").at("p50_ms").as_double() > 0);
  CHECK(report.at("result").at("memory").at("peak_rss_bytes").as_int() > 0);
  CHECK(report.at("provenance").at("model_sha256").as_string().size() == 64);
  CHECK(report.at("provenance").at("artifact_sha256").as_string().size() == 64);
  // LLMC_THREADS=1 in the suite, thread_pool auto (tests/e2e/test_threads.cpp covers the rest).
  CHECK(report.at("provenance").at("threads").as_string().rfind(
            "1 thread(s), thread_pool auto: ", 0) == 0);
  CHECK(report.at("original").at("latency").at("thread_pool").as_string() == "blas");
  const std::string huge = report.at("provenance").at("huge_pages").as_string();
  CHECK((huge.rfind("madvise", 0) == 0 || huge.rfind("off", 0) == 0));
  CHECK(report.at("gates").size() == 4);
  const auto md = llmc::test::read_text((dir.path() / "out/report.md").string());
  CHECK(md.find("# llmc eval-freeze report: PASSED") == 0);
  // stdout carries only the result; logs are on stderr.
  CHECK(r.out.find("status    passed") != std::string::npos);
  CHECK(r.out.find("llmc: loading") == std::string::npos);
  CHECK(r.err.find("llmc: loading") != std::string::npos);
  // The input model is untouched.
  CHECK(torch::jit::load(fixture("bert_tiny.pt")).is_training());
}

TEST_CASE("LLMC_HUGE_PAGES=0 keeps LibTorch's allocator, with the same artifact, and says so") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write("r.yaml", bert_recipe(fixture("bert_tiny.pt")));
  // Where the kernel's huge pages are `madvise`, llmc re-runs itself with malloc's heap on huge
  // pages too (glibc >= 2.35, as on Debian bookworm), and the report says so. (The suite sets
  // the tunable for every other test, sparing each run the re-execution.)
  const char* suite_tunables = std::getenv("GLIBC_TUNABLES");
  const std::string saved = suite_tunables ? suite_tunables : "";
  unsetenv("GLIBC_TUNABLES");
  const auto on_run = run_llmc({"eval-freeze", recipe, "--out", "on"}, dir.path().string());
  if (!saved.empty()) setenv("GLIBC_TUNABLES", saved.c_str(), 1);
  REQUIRE(on_run.code == 0);
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  std::getline(thp, mode);
  const std::string on_status =
      read_json((dir.path() / "on/report.json").string()).at("provenance").at("huge_pages").as_string();
  CHECK((on_status.find("GLIBC_TUNABLES=glibc.malloc.hugetlb=1") != std::string::npos) ==
        (mode.find("[madvise]") != std::string::npos));
  // A GLIBC_TUNABLES that names the tunable is the user's choice: no re-run, no claim.
  setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0", 1);
  const auto user = run_llmc({"eval-freeze", recipe, "--out", "user"}, dir.path().string());
  if (saved.empty()) {
    unsetenv("GLIBC_TUNABLES");
  } else {
    setenv("GLIBC_TUNABLES", saved.c_str(), 1);
  }
  REQUIRE(user.code == 0);
  CHECK(read_json((dir.path() / "user/report.json").string()).at("provenance").at("huge_pages")
            .as_string().find("GLIBC_TUNABLES") == std::string::npos);
  setenv("LLMC_HUGE_PAGES", "0", 1);
  const auto r = run_llmc({"eval-freeze", recipe, "--out", "off"}, dir.path().string());
  unsetenv("LLMC_HUGE_PAGES");
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto report = read_json((dir.path() / "off/report.json").string());
  CHECK(report.at("provenance").at("huge_pages").as_string() == "off (LLMC_HUGE_PAGES=0)");
  auto on = torch::jit::load((dir.path() / "on/model.pt").string());
  auto off = torch::jit::load((dir.path() / "off/model.pt").string());
  const auto in = bert_inputs();
  CHECK(at::equal(run(on, in), run(off, in)));
}

TEST_CASE("a model traced in training mode: flags fixed with a warning, or refused") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write("r.yaml", bert_recipe(fixture("bert_tiny_traced.pt")));
  const auto r = run_llmc({"eval-freeze", recipe, "--json"}, dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto report = llmc::util::parse_json(r.out);
  CHECK(report.at("details").at("traced_training_flags_fixed").as_int() >= 6);
  CHECK(report.at("warnings").size() >= 1);
  // The report's warnings are on stderr too.
  CHECK(r.err.find("llmc: warning: " + report.at("warnings").at(0).as_string()) != std::string::npos);
  auto frozen = torch::jit::load((dir.path() / "out/model.pt").string());
  const auto in = bert_inputs();
  CHECK(at::equal(run(frozen, in), run(frozen, in)));

  const auto refused = run_llmc({"eval-freeze", recipe, "--out", "out2", "--set",
                                 "eval_freeze.fix_traced_training=false"},
                                dir.path().string());
  CHECK(refused.code == 3);
  CHECK(refused.err.find("traced in training mode") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "out2"));
}

TEST_CASE("a CNN in training mode: batch-norm uses running stats and is folded") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write(
      "r.yaml", "recipe_version: 1\nmodel: " + fixture("cnn_bn.pt") +
                    "\noutput: out\nexample_inputs:\n  - {name: input, shape: [4, 3, 32, 32]}\n"
                    "bench: {warmup: 1, runs: 3}\ngates: {max_abs_diff: 1.0e-4}\neval_freeze: {}\n");
  const auto r = run_llmc({"eval-freeze", recipe}, dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto ops = run_llmc({"inspect", "--json", (dir.path() / "out/model.pt").string()});
  REQUIRE(ops.code == 0);
  CHECK(llmc::util::parse_json(ops.out).at("forward_ops").find("aten::batch_norm") == nullptr);
  // Folding computed new convolution weights: the artifact equals the original file in eval mode,
  // loaded here on its own (llmc's reference shares tensors with what it froze, so this is the
  // check that freezing wrote into none of them).
  {
    auto original = torch::jit::load(fixture("cnn_bn.pt"));
    original.eval();
    auto frozen = torch::jit::load((dir.path() / "out/model.pt").string());
    torch::manual_seed(3);
    const std::vector<c10::IValue> in{torch::randn({4, 3, 32, 32})};
    CHECK((run(frozen, in) - run(original, in)).abs().max().item<double>() < 1e-4);
  }

  // optimize_for_inference turns these convolutions into MKLDNN constants that cannot be
  // saved: the artifact is the plain frozen model, with a warning, not a file that won't load.
  const auto opt = run_llmc({"eval-freeze", recipe, "--out", "opt", "--set",
                             "eval_freeze.optimize_for_inference=true", "--json"},
                            dir.path().string());
  INFO(opt.err);
  REQUIRE(opt.code == 0);
  const auto report = llmc::util::parse_json(opt.out);
  REQUIRE(report.at("warnings").size() == 1);
  CHECK(report.at("warnings").at(0).as_string().find("cannot be saved") != std::string::npos);
  CHECK(torch::jit::load((dir.path() / "opt/model.pt").string()).find_method("forward"));
}

TEST_CASE("bench.memory: false skips the memory probes; the report's memory is null") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write("r.yaml", bert_recipe(fixture("bert_tiny.pt")));
  const auto r = run_llmc({"eval-freeze", recipe, "--set", "bench.memory=false", "--json"},
                          dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto report = llmc::util::parse_json(r.out);
  CHECK(report.at("original").at("memory").is_null());
  CHECK(report.at("result").at("memory").is_null());
  CHECK(report.at("result").at("latency").at("runs").as_int() == 3);
  // By default both are measured.
  const auto d = run_llmc({"eval-freeze", recipe, "--out", "d", "--json"}, dir.path().string());
  REQUIRE(d.code == 0);
  CHECK(llmc::util::parse_json(d.out).at("result").at("memory").at("peak_rss_bytes").as_int() > 0);
}

namespace {

// `command`, run by sh on a pseudo-terminal (util-linux script): everything the terminal showed.
llmc::util::ProcessResult run_on_terminal(const std::string& command) {
  return llmc::util::run_process({"script", "-qfec", command, "/dev/null"});
}

// Whether the terminal was shown a progress line (drawn after "\r\033[K", up to the next "\r")
// starting with `start` and containing `part`.
bool shown_line(const std::string& terminal, const std::string& start, const std::string& part) {
  const std::string draw = "\r\033[K";
  for (size_t at = terminal.find(draw); at != std::string::npos; at = terminal.find(draw, at + 1)) {
    const size_t from = at + draw.size();
    const std::string line = terminal.substr(from, terminal.find('\r', from) - from);
    if (line.rfind(start, 0) == 0 && has(line, part)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("progress lines on a terminal, with sizes and an ETA; none when redirected, in CI, with -q") {
  if (!fs::exists("/usr/bin/script")) {
    MESSAGE("util-linux script is missing: progress on a terminal not tested");
    return;
  }
  llmc::test::TempDir dir;
  // Larger inputs, one thread and more runs: timing lasts a few seconds, so its line gets an ETA
  // (shown from the first second on). A model in eval mode: no second timing against it as loaded.
  dir.write("r.yaml", "recipe_version: 1\nmodel: " + fixture("bert_tiny_eval.pt") +
                          "\noutput: out\nthreads: 1\n"
                          "example_inputs:\n"
                          "  - {name: input_ids, shape: [32, 128], dtype: int64, range: [0, 1000]}\n"
                          "  - {name: attention_mask, shape: [32, 128], dtype: int64, fill: 1}\n"
                          "bench: {warmup: 1, runs: 120, memory: false}\n"
                          "eval_freeze: {}\n");
  const std::string in_dir = "cd '" + dir.path().string() + "' && ";
  const std::string llmc = "'" + std::string(std::getenv("LLMC_BIN")) + "'";
  // stdout to a file: the terminal shows stderr alone.
  const auto tty = run_on_terminal(in_dir + "env -u CI " + llmc + " eval-freeze r.yaml >stdout.txt");
  INFO(tty.out);
  REQUIRE(tty.exit_code == 0);
  CHECK(shown_line(tty.out, "loading bert_tiny_eval.pt [", " KiB, "));  // of the file's bytes
  CHECK(shown_line(tty.out, "comparing outputs [", "/1 batches, "));
  CHECK(shown_line(tty.out, "writing model.pt ", "B, "));
  CHECK(shown_line(tty.out, "timing [", "/120 runs, "));
  CHECK(shown_line(tty.out, "timing [", ", ETA "));
  CHECK(has(tty.out, "wrote out"));  // the log lines as ever
  const std::string out = llmc::test::read_text((dir.path() / "stdout.txt").string());
  CHECK_FALSE(has(out, "\033[K"));
  CHECK_FALSE(has(out, "ETA"));

  // The same with stderr redirected, on a terminal in CI, and with -q: no progress line.
  const std::vector<std::string> args = {"eval-freeze", "r.yaml", "--force", "--set",
                                         "bench.runs=3"};
  const auto plain = run_llmc(args, dir.path().string());
  REQUIRE(plain.code == 0);
  CHECK_FALSE(has(plain.err, "\r"));
  CHECK_FALSE(has(plain.err, "ETA"));
  CHECK(has(plain.err, "llmc: wrote out"));
  const std::string rest = " eval-freeze r.yaml --force --set bench.runs=3 >/dev/null";
  const auto ci = run_on_terminal(in_dir + "CI=true " + llmc + rest);
  REQUIRE(ci.exit_code == 0);
  CHECK_FALSE(has(ci.out, "\033[K"));
  CHECK(has(ci.out, "wrote out"));
  const auto quiet = run_on_terminal(in_dir + "env -u CI " + llmc + " -q" + rest);
  REQUIRE(quiet.exit_code == 0);
  CHECK_FALSE(has(quiet.out, "\033[K"));
}

TEST_CASE("existing output, --force, and the input model is never overwritten") {
  llmc::test::TempDir dir;
  fs::copy_file(fixture("bert_tiny.pt"), dir.path() / "m.pt");
  const auto recipe = dir.write("r.yaml", bert_recipe("m.pt"));
  REQUIRE(run_llmc({"eval-freeze", recipe}, dir.path().string()).code == 0);
  const auto first = llmc::test::read_text((dir.path() / "out/report.json").string());
  const auto again = run_llmc({"eval-freeze", recipe}, dir.path().string());
  CHECK(again.code == 2);
  CHECK(again.err.find("already exists; pass --force") != std::string::npos);
  CHECK(llmc::test::read_text((dir.path() / "out/report.json").string()) == first);
  dir.write("out/stale.txt", "old");
  CHECK(run_llmc({"eval-freeze", recipe, "--force"}, dir.path().string()).code == 0);
  CHECK_FALSE(fs::exists(dir.path() / "out/stale.txt"));
  // An output directory that would swallow the input model is refused even with --force.
  const auto swallow = run_llmc({"eval-freeze", recipe, "--force", "--out", "."},
                                dir.path().string());
  CHECK(swallow.code == 2);
  CHECK(swallow.err.find("would contain or replace the input") != std::string::npos);
  CHECK(fs::exists(dir.path() / "m.pt"));
  // No staging directories are left behind.
  for (const auto& e : fs::directory_iterator(dir.path())) {
    CHECK(e.path().filename().string().find("llmc-staging") == std::string::npos);
  }
}

TEST_CASE("a failed gate exits 1 and still writes the artifact and both reports") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write("r.yaml", bert_recipe(fixture("bert_tiny.pt")));
  const auto r = run_llmc({"eval-freeze", recipe, "--set", "gates.min_speedup=1000"},
                          dir.path().string());
  CHECK(r.code == 1);
  CHECK(r.err.find("llmc: error: quality gate failed: min_speedup:") != std::string::npos);
  CHECK(fs::exists(dir.path() / "out/model.pt"));
  const auto report = read_json((dir.path() / "out/report.json").string());
  CHECK(report.at("status").as_string() == "failed");
  const auto md = llmc::test::read_text((dir.path() / "out/report.md").string());
  CHECK(md.find("FAILED (quality gate)") != std::string::npos);
  CHECK(md.find("| min_speedup | >= 1000 |") != std::string::npos);
}

TEST_CASE("labeled JSONL data gives the task metric for both models") {
  llmc::test::TempDir dir;
  std::string lines;
  for (int i = 0; i < 10; ++i) {
    const int len = 5 + i % 4;  // ragged: padded per batch
    std::string ids, mask;
    for (int k = 0; k < len; ++k) {
      ids += (k ? "," : "") + std::to_string((i * 37 + k * 11) % 1000);
      mask += k ? ",1" : "1";
    }
    lines += "{\"input_ids\": [" + ids + "], \"attention_mask\": [" + mask +
             "], \"label\": " + std::to_string(i % 3) + "}\n";
  }
  dir.write("eval.jsonl", lines);
  const auto recipe = dir.write(
      "r.yaml", "recipe_version: 1\nmodel: " + fixture("bert_tiny.pt") +
                    "\noutput: out\ndata: {path: eval.jsonl, labels: label, batch_size: 4}\n"
                    "task: {type: single-label}\nbench: {warmup: 1, runs: 2}\n"
                    "gates: {max_metric_drop: 0.0}\neval_freeze: {}\n");
  const auto r = run_llmc({"eval-freeze", recipe}, dir.path().string());
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto report = read_json((dir.path() / "out/report.json").string());
  CHECK(report.at("inputs").at("rows").as_int() == 10);
  CHECK(report.at("inputs").at("latency_batch_rows").as_int() == 4);
  const double before = report.at("original").at("metrics").at("accuracy").as_double();
  CHECK(before == report.at("result").at("metrics").at("accuracy").as_double());
  CHECK(report.at("original").at("primary_metric").as_string() == "accuracy");

  dir.write("bad.jsonl", "{\"input_ids\": [1, 2], \"attention_mask\": [1, 1], \"label\": 0}\n{oops\n");
  const auto bad = run_llmc({"eval-freeze", recipe, "--out", "o2", "--set", "data.path=bad.jsonl"},
                            dir.path().string());
  CHECK(bad.code == 3);
  CHECK(bad.err.find("bad.jsonl:2:2: malformed JSON") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "o2"));
}

TEST_CASE("preserve names a method the model does not have") {
  llmc::test::TempDir dir;
  const auto recipe = dir.write("r.yaml", bert_recipe(fixture("bert_tiny.pt")) +
                                              "");
  const auto r = run_llmc({"eval-freeze", recipe, "--set", "eval_freeze.preserve=[encode]"},
                          dir.path().string());
  CHECK(r.code == 2);
  CHECK(r.err.find("eval_freeze.preserve: the model has no method or attribute \"encode\"") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() / "out"));
}

TEST_CASE("every example recipe runs") {
  // The debtags case study reads a dataset built from the apt lists: here a stand-in from the
  // fixtures, one epoch on a few samples.
  llmc::test::TempDir debtags;
  llmc::test::use_debtags_standin(debtags.path().string());
  for (const auto& entry :
       fs::recursive_directory_iterator(llmc::test::source_root() + "/recipes")) {
    if (entry.path().extension() != ".yaml") continue;
    CAPTURE(entry.path().string());
    // The subcommand is the one whose section the recipe has.
    const std::string text = llmc::test::read_text(entry.path().string());
    std::string command = "eval-freeze";
    std::vector<std::string> extra;
    if (text.find("\nquantize:") != std::string::npos) command = "quantize";
    if (text.find("\nprune:") != std::string::npos) command = "prune";
    if (text.find("\nexport_onnx:") != std::string::npos) command = "export-onnx";
    if (text.find("\ncompare:") != std::string::npos) command = "compare";
    if (text.find("\nstages:") != std::string::npos) command = "run";
    if (text.find("\ndistill:") != std::string::npos) {
      command = "distill";
      extra = {"--set", "distill.epochs=1", "--set", "distill.train_data.max_samples=64",
               "--set", "data.max_samples=32", "--threads", "1"};
    }
    llmc::test::TempDir dir;
    std::vector<std::string> args{command, entry.path().string(), "--out",
                                  (dir.path() / "out").string(), "--set", "bench.runs=2"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = run_llmc(args);
    INFO(r.err);
    CHECK(r.code == 0);
    CHECK(fs::exists(dir.path() / "out/report.json"));
  }
}

TEST_CASE("bad models named by a recipe: exit codes and no output directory") {
  llmc::test::TempDir dir;
  SUBCASE("missing model: a recipe error at its line") {
    const auto recipe = dir.write("r.yaml", bert_recipe("gone.pt"));
    const auto r = run_llmc({"eval-freeze", recipe}, dir.path().string());
    CHECK(r.code == 2);
    CHECK(r.err.find("r.yaml:2:8: model: file not found:") != std::string::npos);
  }
  SUBCASE("corrupt model: an input error") {
    std::string bytes = llmc::test::read_text(fixture("bert_tiny.pt"));
    dir.write("m.pt", bytes.substr(0, bytes.size() - 1000));
    const auto recipe = dir.write("r.yaml", bert_recipe("m.pt"));
    const auto r = run_llmc({"eval-freeze", recipe}, dir.path().string());
    CHECK(r.code == 3);
    CHECK(r.err.find("truncated or corrupt") != std::string::npos);
  }
  SUBCASE("a pickled state_dict: an input error with the export hint") {
    const auto recipe = dir.write("r.yaml", bert_recipe(fixture("state_dict.pt")));
    const auto r = run_llmc({"eval-freeze", recipe}, dir.path().string());
    CHECK(r.code == 3);
    CHECK(r.err.find("llmc: hint: export a TorchScript model") != std::string::npos);
  }
  SUBCASE("inputs the model cannot run on: an input error") {
    const auto recipe = dir.write(
        "r.yaml", bert_recipe(fixture("bert_tiny.pt")));
    const auto r = run_llmc({"eval-freeze", recipe, "--set",
                             "example_inputs[0].range=[0, 5000]"},
                            dir.path().string());
    CHECK(r.code == 3);
    CHECK(r.err.find("forward failed on the measurement inputs") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir.path() / "out"));
  for (const auto& e : fs::directory_iterator(dir.path())) {
    CHECK(e.path().filename().string().find("llmc-staging") == std::string::npos);
  }
}
