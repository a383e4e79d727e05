// Crafted TorchScript archives (issue 16, F3): an archive whose tensor storage record is shorter
// than its tensors need, with valid zip CRCs, loaded and handed LibTorch heap memory beyond the
// record as weights. Every subcommand that reads a model refuses it, exit 3, naming the file and
// the record, and writes nothing.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <tuple>
#include <string>

#include "cli.h"
#include "test_support.h"
#include "llmc/util/process.h"

using llmc::test::fixture;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

using llmc::test::has;

// Copies the zip archive `from` to `to` with the entry ending in `suffix` cut to `size` bytes,
// rewritten by Python's zipfile so that every CRC-32 is valid.
void cut_record(const std::string& from, const std::string& to, const std::string& suffix,
                int size) {
  const char* script =
      "import sys, zipfile\n"
      "src, dst, suffix, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])\n"
      "cut = 0\n"
      "with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:\n"
      "    for info in zin.infolist():\n"
      "        data = zin.read(info)\n"
      "        if info.filename.endswith(suffix):\n"
      "            data, cut = data[:size], cut + 1\n"
      "        zout.writestr(info, data)\n"
      "sys.exit(0 if cut == 1 else 1)\n";
  const auto r = llmc::util::run_process(
      {"/usr/bin/python3", "-c", script, from, to, suffix, std::to_string(size)});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

}  // namespace

TEST_CASE("an archive whose storage record is shorter than its tensors: exit 3, nothing written") {
  llmc::test::TempDir dir;
  const auto model = (dir.path() / "short.pt").string();
  // bert_tiny/data/1 holds the word embeddings, 256000 bytes.
  cut_record(fixture("bert_tiny.pt"), model, "/data/1", 1000);
  const std::string named = "storage record bert_tiny/data/1 holds 1000 bytes, but "
                            "bert_tiny/data.pkl needs 256000 bytes of it";
  SUBCASE("inspect") {
    const auto r = run_llmc({"inspect", model});
    CHECK(r.code == 3);
    CHECK(has(r.err, "llmc: error: " + model + ": cannot load model: " + named));
    CHECK(has(r.err, "llmc: hint: the archive was cut short or altered"));
    CHECK(r.out.empty());
  }
  const std::string recipe_head =
      "recipe_version: 1\nmodel: short.pt\noutput: out\nthreads: 1\nexample_inputs:\n"
      "  - {name: input_ids, shape: [2, 8], dtype: int64, range: [0, 1000]}\n"
      "  - {name: attention_mask, shape: [2, 8], dtype: int64, fill: 1}\n"
      "bench: {warmup: 0, runs: 1}\n";
  const auto freeze = dir.write("freeze.yaml", recipe_head + "eval_freeze: {}\n");
  const auto quantize = dir.write("q.yaml", recipe_head + "quantize: {scheme: dynamic-int8}\n");
  for (const auto& [command, recipe] : {std::pair<std::string, std::string>{"validate", freeze},
                                        {"eval-freeze", freeze},
                                        {"quantize", quantize}}) {
    CAPTURE(command);
    const auto r = run_llmc({command, recipe}, dir.path().string());
    CHECK(r.code == 3);
    CHECK(has(r.err, named));
    CHECK_FALSE(fs::exists(dir.path() / "out"));
    for (const auto& e : fs::directory_iterator(dir.path())) {
      CHECK_MESSAGE(e.path().filename().string().rfind(".out.", 0) != 0,
                    "left behind: " << e.path().filename().string());
    }
  }
}

TEST_CASE("an archive whose constants record is missing: exit 3, naming it") {
  llmc::test::TempDir dir;
  const auto model = (dir.path() / "noconst.pt").string();
  cut_record(fixture("hf_bert_traced.pt"), model, "/constants/0", 0);
  const auto r = run_llmc({"inspect", model});
  CHECK(r.code == 3);
  CHECK(has(r.err, "cannot load model: storage record hf_bert_traced/constants/0 holds 0 bytes, "
                   "but hf_bert_traced/constants.pkl needs"));
}

TEST_CASE("a model too large for the memory available: exit 3 before loading, nothing written") {
  llmc::test::TempDir dir;
  // 1 TiB of "weights" in a sparse file: no disk used, and no machine here has twice that.
  const auto big = (dir.path() / "big.pt").string();
  { std::ofstream(big).put('\0'); }
  fs::resize_file(big, uint64_t{1} << 40);
  const std::string head =
      "recipe_version: 1\noutput: out\nthreads: 1\nexample_inputs:\n"
      "  - {name: input_ids, shape: [2, 8], dtype: int64, range: [0, 1000]}\n"
      "  - {name: attention_mask, shape: [2, 8], dtype: int64, fill: 1}\n"
      "bench: {warmup: 0, runs: 1}\n";
  const auto freeze = dir.write("freeze.yaml", head + "model: big.pt\neval_freeze: {}\n");
  const auto onnx = dir.write("onnx.yaml", head + "model: big.pt\nexport_onnx: {}\n");
  const auto distill = dir.write(
      "distill.yaml", "recipe_version: 1\nmodel: " + fixture("distill_student.pt") +
                          "\noutput: out\nthreads: 1\n"
                          "data: {path: " + fixture("distill_test.jsonl") + ", labels: labels}\n"
                          "task: {type: multi-label}\n"
                          "distill:\n  teacher: big.pt\n"
                          "  train_data: {path: " + fixture("distill_train.jsonl") +
                          ", labels: labels}\n");
  for (const auto& [command, recipe, named] :
       {std::tuple<std::string, std::string, std::string>{"eval-freeze", freeze,
                                                          "eval-freeze holds two copies"},
        {"export-onnx", onnx, "export-onnx holds the model while ONNX Runtime loads the file"},
        {"distill", distill, "and the weights of the teacher "}}) {
    CAPTURE(command);
    const auto r = run_llmc({command, recipe}, dir.path().string());
    CHECK(r.code == 3);
    CHECK(has(r.err, "the model does not fit in memory: this run needs at least"));
    CHECK(has(r.err, named));
    CHECK(has(r.err, command == "distill" ? "big.pt: 1.00 TiB of weights" : "2× 1.00 TiB of weights"));
    CHECK(has(r.err, "llmc: hint: free memory or run on a machine with more; --no-memory-check"));
    CHECK_FALSE(fs::exists(dir.path() / "out"));
  }
  // validate loads the model too: the same check, one copy.
  {
    const auto r = run_llmc({"validate", freeze}, dir.path().string());
    CHECK(r.code == 3);
    CHECK(has(r.err, "the model does not fit in memory: this run needs at least"));
    CHECK(has(r.err, "validate loads the model once"));
    const auto unchecked = run_llmc({"validate", freeze, "--no-memory-check"}, dir.path().string());
    CHECK(unchecked.code == 3);
    CHECK(has(unchecked.err, "cannot load model"));
  }
  // --no-memory-check: the run goes on and fails where the file is read.
  const auto r = run_llmc({"eval-freeze", freeze, "--no-memory-check"}, dir.path().string());
  CHECK(r.code == 3);
  CHECK_FALSE(has(r.err, "does not fit in memory"));
  CHECK(has(r.err, "cannot load model"));
  CHECK_FALSE(fs::exists(dir.path() / "out"));
}
