// `llmc validate` and `llmc schema`, end to end: recipe errors with line:column and exit 2.
#include <doctest/doctest.h>

#include "cli.h"
#include "test_support.h"

using llmc::test::fixture;
using llmc::test::run_llmc;

namespace {

std::string recipe_head() {
  return "recipe_version: 1\nmodel: " + fixture("bert_tiny.pt") +
         "\nexample_inputs:\n"
         "  - {name: input_ids, shape: [2, 16], dtype: int64, range: [0, 1000]}\n"
         "  - {name: attention_mask, shape: [2, 16], dtype: int64, fill: 1}\n";
}

}  // namespace

TEST_CASE("validate accepts a good recipe and checks inputs against forward") {
  llmc::test::TempDir dir;
  const auto path = dir.write("ok.yaml", recipe_head() + "eval_freeze: {}\n");
  const auto r = run_llmc({"validate", path});
  CHECK(r.code == 0);
  CHECK(r.out.find("valid recipe for `llmc eval-freeze`") != std::string::npos);
  CHECK(r.out.find("forward: input_ids, attention_mask") != std::string::npos);
  const auto j = run_llmc({"validate", "--json", path});
  REQUIRE(j.code == 0);
  CHECK(llmc::util::parse_json(j.out).at("valid").as_bool());
}

TEST_CASE("validate reports recipe errors with file:line:column and exit 2") {
  llmc::test::TempDir dir;
  SUBCASE("unknown key with a suggestion") {
    const auto path = dir.write("r.yaml", recipe_head() + "eval_freeze:\n  optimise_for_inference: true\n");
    const auto r = run_llmc({"validate", path});
    CHECK(r.code == 2);
    CHECK(r.err == "llmc: error: " + path +
                       ":7:3: eval_freeze.optimise_for_inference: unknown key "
                       "\"optimise_for_inference\" (did you mean \"optimize_for_inference\"?)\n");
  }
  SUBCASE("wrong type") {
    const auto path = dir.write("r.yaml", recipe_head() + "eval_freeze: {determinism_runs: often}\n");
    const auto r = run_llmc({"validate", path});
    CHECK(r.code == 2);
    CHECK(r.err.find(":6:33: eval_freeze.determinism_runs: expected an integer, got \"often\"") !=
          std::string::npos);
  }
  SUBCASE("malformed YAML") {
    const auto path = dir.write("r.yaml", recipe_head() + "eval_freeze: {a: [}\n");
    const auto r = run_llmc({"validate", path});
    CHECK(r.code == 2);
    CHECK(r.err.find(path + ":6:") != std::string::npos);
    CHECK(r.err.find("invalid YAML") != std::string::npos);
  }
  SUBCASE("an input name forward does not have points at the spec") {
    const auto path = dir.write(
        "r.yaml", "recipe_version: 1\nmodel: " + fixture("bert_tiny.pt") +
                      "\nexample_inputs:\n  - {name: ids, shape: [2, 16], dtype: int64, range: "
                      "[0, 9]}\neval_freeze: {}\n");
    const auto r = run_llmc({"validate", path});
    CHECK(r.code == 2);
    CHECK(r.err.find(path + ":4:5: example_inputs[0]: forward has no argument \"ids\" (its "
                            "arguments: input_ids, attention_mask)") != std::string::npos);
  }
  SUBCASE("a section of another subcommand") {
    const auto path = dir.write("r.yaml", recipe_head() + "eval_freeze: {}\nquantize: {}\n");
    const auto r = run_llmc({"validate", "--command", "eval-freeze", path});
    CHECK(r.code == 2);
    CHECK(r.err.find("quantize: unknown key \"quantize\": this section belongs to `llmc "
                     "quantize`") != std::string::npos);
  }
  SUBCASE("a recipe for no known subcommand") {
    const auto path = dir.write("r.yaml", recipe_head());
    const auto r = run_llmc({"validate", path});
    CHECK(r.code == 2);
    CHECK(r.err.find("cannot tell which subcommand") != std::string::npos);
  }
  SUBCASE("a missing recipe file") {
    const auto r = run_llmc({"validate", (dir.path() / "nope.yaml").string()});
    CHECK(r.code == 2);
    CHECK(r.err.find("cannot read the recipe file") != std::string::npos);
  }
  SUBCASE("a corrupt model named by a good recipe is an input error") {
    const auto bad = dir.write("bad.pt", "not a model at all");
    const auto path = dir.write("r.yaml", "recipe_version: 1\nmodel: bad.pt\nexample_inputs: [{name: x, shape: [1]}]\neval_freeze: {}\n");
    const auto r = run_llmc({"validate", path});
    CHECK(r.code == 3);
    CHECK(r.err.find(bad + ": cannot load model") != std::string::npos);
  }
}

TEST_CASE("docs/recipes.md is the output of `llmc schema --markdown`") {
  const auto r = run_llmc({"schema", "--markdown"});
  REQUIRE(r.code == 0);
  CHECK(r.out == llmc::test::read_text(llmc::test::source_root() + "/docs/recipes.md"));
}

TEST_CASE("every recipe under recipes/ validates") {
  llmc::test::TempDir debtags;
  llmc::test::use_debtags_standin(debtags.path().string());
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(llmc::test::source_root() + "/recipes")) {
    if (entry.path().extension() != ".yaml") continue;
    CAPTURE(entry.path().string());
    const auto r = run_llmc({"validate", entry.path().string()});
    CHECK(r.err == "");
    CHECK(r.code == 0);
  }
}
