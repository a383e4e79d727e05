// threads: auto (LLMC_THREADS, else the cores this process may use) and thread_pool: auto (each
// model timed with the pool its operators run in), end to end.
#include <string>

#include "torch_doctest.h"

#include "cli.h"
#include "test_support.h"
#include "llmc/util/cores.h"

using llmc::test::EnvOverride;
using llmc::test::fixture;
using llmc::test::has;
using llmc::test::read_json;
using llmc::test::run_llmc;

namespace {

std::string recipe(const std::string& more, const std::string& model = "bert_tiny_eval.pt") {
  return "recipe_version: 1\nmodel: " + fixture(model) +
         "\noutput: out\n"
         "example_inputs:\n"
         "  - {name: input_ids, shape: [4, 16], dtype: int64, range: [1, 1000]}\n"
         "  - {name: attention_mask, shape: [4, 16], dtype: int64, fill: 1}\n"
         "bench: {warmup: 0, runs: 2, memory: false}\n"
         "quantize: {scheme: dynamic-int8}\n" +
         more;
}

}  // namespace

TEST_CASE("threads auto takes the cores; the float32 original is timed in BLAS, int8 in LibTorch's pool") {
  const EnvOverride unset("LLMC_THREADS", "");  // empty counts as unset
  // A scripted encoder, and traced HF layouts: GPT-2's Conv1D (addmm) and a PyTorch 2.x LLaMA
  // with SDPA attention and grouped-query heads.
  for (const char* model : {"bert_tiny_eval.pt", "hf_gpt2_traced.pt", "hf_llama_sdpa.pt"}) {
    CAPTURE(model);
    llmc::test::TempDir dir;
    const auto r =
        run_llmc({"quantize", dir.write("q.yaml", recipe("", model))}, dir.path().string());
    REQUIRE_MESSAGE(r.code == 0, r.err);
    const auto report = read_json((dir.path() / "out" / "report.json").string());
    const std::string threads = report.at("provenance").at("threads").as_string();
    CAPTURE(threads);
    CHECK(has(threads,
              std::to_string(llmc::util::available_cores()) + " thread(s), thread_pool auto"));
    CHECK(report.at("original").at("latency").at("thread_pool").as_string() == "blas");
    CHECK(report.at("result").at("latency").at("thread_pool").as_string() == "libtorch");
  }
}

TEST_CASE("LLMC_THREADS bounds an auto run; a number in the recipe or --threads wins; a fixed pool times both") {
  llmc::test::TempDir dir;
  const EnvOverride two("LLMC_THREADS", "2");
  const auto r = run_llmc({"quantize", dir.write("q.yaml", recipe("thread_pool: libtorch\n"))},
                          dir.path().string());
  REQUIRE_MESSAGE(r.code == 0, r.err);
  auto report = read_json((dir.path() / "out" / "report.json").string());
  CHECK(report.at("provenance").at("intra_op_threads").as_int() == 2);
  CHECK(report.at("original").at("latency").at("thread_pool").as_string() == "libtorch");
  CHECK(report.at("result").at("latency").at("thread_pool").as_string() == "libtorch");

  const auto one = run_llmc({"quantize", dir.write("q1.yaml", recipe("thread_pool: libtorch\n")),
                             "--threads", "1", "--out", "out1"},
                            dir.path().string());
  REQUIRE_MESSAGE(one.code == 0, one.err);
  report = read_json((dir.path() / "out1" / "report.json").string());
  CHECK(report.at("provenance").at("intra_op_threads").as_int() == 1);
}

TEST_CASE("a bad LLMC_THREADS or threads value is a usage error that names it") {
  llmc::test::TempDir dir;
  {
    const EnvOverride bad("LLMC_THREADS", "lots");
    const auto r = run_llmc({"quantize", dir.write("q.yaml", recipe(""))}, dir.path().string());
    CHECK(r.code == 2);
    CHECK(has(r.err, "LLMC_THREADS is \"lots\""));
    CHECK_FALSE(std::filesystem::exists(dir.path() / "out"));
  }
  const auto r = run_llmc({"quantize", dir.write("t.yaml", recipe("threads: many\n"))},
                          dir.path().string());
  CHECK(r.code == 2);
  CHECK(has(r.err, "threads"));
  const auto ok = run_llmc({"validate", dir.write("a.yaml", recipe("threads: auto\n"))},
                           dir.path().string());
  CHECK_MESSAGE(ok.code == 0, ok.err);
}
