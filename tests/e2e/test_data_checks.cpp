// Bad values in JSONL data (issue 16): token ids beyond the vocabulary, negative or floats,
// masks of the wrong length, labels that do not fit. `llmc validate` reports them before
// anything runs, and every subcommand refuses them at run time: exit 3, naming file:line and
// the field, nothing written.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "cli.h"
#include "test_support.h"

using llmc::test::fixture;
using llmc::test::run_llmc;
namespace fs = std::filesystem;

namespace {

using llmc::test::has;

// bert_tiny.pt: forward(input_ids, attention_mask), a 1000-row embedding table, 3 classes.
std::string recipe(const std::string& data, const std::string& section,
                   const std::string& task = "single-label") {
  return "recipe_version: 1\nmodel: " + fixture("bert_tiny.pt") +
         "\noutput: out\nthreads: 1\n"
         "data: {path: " + data + ", labels: label, batch_size: 2}\n"
         "task: {type: " + task + "}\n"
         "bench: {warmup: 1, runs: 2}\n" + section;
}

const char* kGood = "{\"input_ids\": [5, 6, 7], \"attention_mask\": [1, 1, 1], \"label\": 0}\n";

}  // namespace

TEST_CASE("validate: bad data values are exit 3 naming file:line and the field") {
  llmc::test::TempDir dir;
  struct Case {
    std::string name;
    std::string line;
    std::string expected;
  };
  const Case cases[] = {
      {"an id beyond the vocabulary",
       "{\"input_ids\": [5, 1000], \"attention_mask\": [1, 1], \"label\": 1}",
       "field \"input_ids\": token id 1000 is beyond " + fixture("bert_tiny.pt") +
           "'s embedding table (1000 rows, ids 0-999)"},
      {"a negative id", "{\"input_ids\": [5, -1], \"attention_mask\": [1, 1], \"label\": 1}",
       "field \"input_ids\": token id -1 is negative"},
      {"a float id", "{\"input_ids\": [5, 6.0], \"attention_mask\": [1, 1], \"label\": 1}",
       "field \"input_ids\": token ids must be integers, got 6.0"},
      {"a short mask", "{\"input_ids\": [5, 6, 7], \"attention_mask\": [1, 1], \"label\": 1}",
       "field \"attention_mask\" has 2 values but \"input_ids\" has 3"},
      {"a fractional label", "{\"input_ids\": [5], \"attention_mask\": [1], \"label\": 1.5}",
       "label field \"label\": single-label labels must be integers, got 1.5"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto data = dir.write("d.jsonl", std::string(kGood) + "\n" + c.line + "\n");
    const auto path = dir.write("r.yaml", recipe(data, "eval_freeze: {}\n"));
    const auto r = run_llmc({"validate", path}, dir.path().string());
    INFO(r.err);
    CHECK(r.code == 3);
    CHECK(has(r.err, "llmc: error: " + data + ":3: " + c.expected));
  }
}

TEST_CASE("validate reads distill's train_data with the same checks") {
  llmc::test::TempDir dir;
  const auto eval = dir.write("eval.jsonl", kGood);
  const auto train = dir.write("train.jsonl", std::string(kGood) + kGood +
                                                  "{\"input_ids\": [true], \"attention_mask\": "
                                                  "[1], \"label\": 0}\n");
  const auto path = dir.write(
      "r.yaml", recipe(eval, "distill:\n  train_data: {path: " + train + ", labels: label}\n"));
  const auto r = run_llmc({"validate", path}, dir.path().string());
  CHECK(r.code == 3);
  CHECK(has(r.err, "llmc: error: " + train + ":3: field \"input_ids\": token ids must be "
                   "integers, got the boolean true"));
}

TEST_CASE("quantize refuses a label beyond the model's classes at run time, naming its line") {
  llmc::test::TempDir dir;
  // Valid for any head: the label's range is only known once the model has run.
  const auto data = dir.write("d.jsonl", std::string(kGood) + kGood + kGood +
                                             "{\"input_ids\": [8], \"attention_mask\": [1], "
                                             "\"label\": 7}\n");
  const auto path = dir.write("r.yaml", recipe(data, "quantize: {scheme: dynamic-int8}\n"));
  CHECK(run_llmc({"validate", path}, dir.path().string()).code == 0);
  const auto r = run_llmc({"quantize", path}, dir.path().string());
  INFO(r.err);
  CHECK(r.code == 3);
  CHECK(has(r.err, "llmc: error: " + data + ":4: label 7 does not fit the model's 3 classes "
                   "(0-2)"));
  CHECK_FALSE(fs::exists(dir.path() / "out"));

  // And an id beyond the vocabulary, before any work.
  const auto ids = dir.write("ids.jsonl", std::string(kGood) +
                                              "{\"input_ids\": [5000], \"attention_mask\": [1], "
                                              "\"label\": 0}\n");
  const auto r2 = run_llmc({"quantize", dir.write("r2.yaml", recipe(ids, "quantize: {scheme: "
                                                                         "dynamic-int8}\n"))},
                           dir.path().string());
  CHECK(r2.code == 3);
  CHECK(has(r2.err, "llmc: error: " + ids + ":2: field \"input_ids\": token id 5000 is beyond"));
  CHECK_FALSE(fs::exists(dir.path() / "out"));
}
