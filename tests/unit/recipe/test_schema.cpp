// The recipe mechanism: exact error texts with line:column, overrides, env interpolation.
#include <algorithm>
#include <cstdlib>

#include <doctest/doctest.h>

#include "llmc/recipe/common.h"
#include "llmc/recipe/parse.h"
#include "test_support.h"

using llmc::RecipeError;
using llmc::recipe::CommonRecipe;
using llmc::recipe::common_schema;
using llmc::recipe::parse_recipe;

namespace {

// Parses and returns the error lines (empty when the recipe is fine), with the temp dir
// replaced by "DIR" so the expectations read like the messages users see.
std::string errors_of(const llmc::test::TempDir& dir, const std::string& text,
                      const std::vector<std::string>& sets = {}) {
  const auto path = dir.write("r.yaml", text);
  try {
    parse_recipe(path, sets, common_schema());
    return "";
  } catch (const RecipeError& e) {
    std::string out = e.what();
    const std::string prefix = dir.path().string() + "/";
    for (size_t at; (at = out.find(prefix)) != std::string::npos;) out.replace(at, prefix.size(), "");
    return out;
  }
}

const char* kModelLine = "model: m.pt\n";

}  // namespace

TEST_CASE("a valid recipe binds typed values and resolves paths relative to the recipe") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  const auto path = dir.write("r.yaml",
                              "recipe_version: 1\nmodel: m.pt\noutput: out\nthreads: 2\n"
                              "example_inputs:\n  - {name: ids, shape: [2, 8], dtype: int64, "
                              "range: [0, 100]}\n"
                              "bench: {runs: 7}\ngates: {min_cosine: 0.99}\n");
  const CommonRecipe r = parse_recipe(path, {}, common_schema());
  CHECK(r.model == (dir.path() / "m.pt").string());
  CHECK(r.output == (dir.path() / "out").string());
  CHECK(r.threads == 2);
  REQUIRE(r.example_inputs.size() == 1);
  CHECK(r.example_inputs[0].shape == std::vector<int64_t>{2, 8});
  CHECK(r.example_inputs[0].dtype == llmc::recipe::DType::int64);
  CHECK(r.bench.runs == 7);
  CHECK(r.bench.warmup == 3);
  CHECK(*r.gates.min_cosine == doctest::Approx(0.99));
  CHECK_FALSE(r.gates.max_abs_diff.has_value());
  CHECK(r.example_inputs[0].origin.location == path + ":6:5");
}

TEST_CASE("all errors are collected with line:column, key path and did-you-mean") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  const std::string got = errors_of(dir,
                                    "recipe_version: 1\n"
                                    "modle: m.pt\n"
                                    "threads: many\n"
                                    "bench:\n"
                                    "  runs: 0\n"
                                    "  warmpu: 2\n"
                                    "task: {type: regression}\n"
                                    "example_inputs:\n"
                                    "  - {name: x, shape: [1, 2]}\n");
  CHECK(got ==
        "r.yaml:2:1: modle: unknown key \"modle\" (did you mean \"model\"?)\n"
        "r.yaml:3:10: threads: expected an integer, got \"many\"\n"
        "r.yaml:5:9: bench.runs: 0 is out of range: expected an integer in [1, 100000]\n"
        "r.yaml:6:3: bench.warmpu: unknown key \"warmpu\" (did you mean \"warmup\"?)\n"
        "r.yaml:7:14: task.type: expected one of none|single-label|multi-label|language-model, got "
        "\"regression\"\n"
        "r.yaml:1:1: missing required key \"model\"");
}

TEST_CASE("missing files, wrong shapes of values and cross-key checks") {
  llmc::test::TempDir dir;
  CHECK(errors_of(dir, "recipe_version: 1\nmodel: nope.pt\nexample_inputs: []\n") ==
        "r.yaml:2:8: model: file not found: nope.pt");
  dir.write("m.pt", "x");
  CHECK(errors_of(dir, std::string("recipe_version: 1\n") + kModelLine) ==
        "r.yaml:1:1: no measurement inputs: give example_inputs or data");
  CHECK(errors_of(dir, std::string("recipe_version: 1\n") + kModelLine +
                           "example_inputs:\n  - {name: ids, shape: [2], dtype: int64}\n") ==
        "r.yaml:4:5: example_inputs[0]: an integer input needs range: [lo, hi) (e.g. [0, "
        "vocab_size)) or fill");
  CHECK(errors_of(dir, std::string("recipe_version: 1\n") + kModelLine + "bench: [1, 2]\n") ==
        "r.yaml:3:8: bench: expected a mapping, got a list");
  CHECK(errors_of(dir, std::string("recipe_version: 1\n") + kModelLine + "threads:\n") ==
        "r.yaml:3:1: threads: expected int in [1, 1024] or auto, got nothing");
  CHECK(errors_of(dir, std::string("recipe_version: 1\n") + kModelLine + "seed: 1\nseed: 2\n") ==
        "r.yaml:4:1: seed: duplicate key");
}

TEST_CASE("YAML syntax errors, empty recipes and newer versions") {
  llmc::test::TempDir dir;
  CHECK(errors_of(dir, "recipe_version: 1\nmodel: [a\n") ==
        "r.yaml:3:1: invalid YAML: end of sequence flow not found");
  CHECK(errors_of(dir, "") == "r.yaml: the recipe is empty (start it with `recipe_version: 1`)");
  CHECK(errors_of(dir, "- a\n") == "r.yaml:1:1: expected a mapping of recipe keys at the top level");
  CHECK(errors_of(dir, "recipe_version: 2\nfuture_key: 1\n") ==
        "r.yaml:1:17: recipe_version: recipe_version 2 is not supported (this llmc reads "
        "recipe_version: 1)");
}

TEST_CASE("--set overrides any key, and its errors point at the override") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  const auto path = dir.write("r.yaml",
                              "recipe_version: 1\nmodel: m.pt\nexample_inputs:\n"
                              "  - {name: x, shape: [1, 4]}\n");
  const auto r = parse_recipe(path,
                              {"bench.runs=50", "gates.min_cosine=0.5", "example_inputs[0].shape=[3,5]",
                               "output=rel/out"},
                              common_schema());
  CHECK(r.bench.runs == 50);
  CHECK(*r.gates.min_cosine == doctest::Approx(0.5));
  CHECK(r.example_inputs[0].shape == std::vector<int64_t>{3, 5});
  CHECK(r.output == "rel/out");  // --set paths are relative to the working directory
  CHECK(errors_of(dir, "recipe_version: 1\nmodel: m.pt\nexample_inputs: [{name: x, shape: [1]}]\n",
                  {"bench.rns=5", "threads=-1", "noequals"}) ==
        "--set: \"noequals\": expected KEY=VALUE");
  CHECK(errors_of(dir, "recipe_version: 1\nmodel: m.pt\nexample_inputs: [{name: x, shape: [1]}]\n",
                  {"bench.rns=5", "threads=-1"}) ==
        "--set: bench.rns: unknown key \"rns\" (did you mean \"runs\"?)\n"
        "--set: threads: -1 is out of range: expected an integer in [1, 1024]");
}

TEST_CASE("${ENV} interpolation with defaults and errors") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  setenv("LLMC_TEST_MODEL", "m.pt", 1);
  setenv("LLMC_TEST_RUNS", "9", 1);
  unsetenv("LLMC_TEST_UNSET");
  const auto path = dir.write("r.yaml",
                              "recipe_version: 1\nmodel: ${LLMC_TEST_MODEL}\n"
                              "output: ${LLMC_TEST_UNSET:-out}/$$x\n"
                              "bench: {runs: \"${LLMC_TEST_RUNS}\"}\n"
                              "example_inputs: [{name: x, shape: [1]}]\n");
  const auto r = parse_recipe(path, {}, common_schema());
  CHECK(r.model == (dir.path() / "m.pt").string());
  CHECK(r.output == (dir.path() / "out/$x").string());
  CHECK(r.bench.runs == 9);
  CHECK(errors_of(dir, "recipe_version: 1\nmodel: ${LLMC_TEST_UNSET}\n"
                       "example_inputs: [{name: x, shape: [1]}]\n") ==
        "r.yaml:2:8: model: environment variable LLMC_TEST_UNSET is not set (write "
        "${LLMC_TEST_UNSET:-default} to give a default)");
}

TEST_CASE("did_you_mean only suggests close words") {
  using llmc::recipe::did_you_mean;
  CHECK(did_you_mean("modle", {"model", "output"}) == "model");
  CHECK(did_you_mean("xyz", {"model", "output"}).empty());
  CHECK(did_you_mean("Threads", {"threads"}) == "threads");
}

TEST_CASE("example inputs the machine cannot hold, values outside the dtype, and outputs that "
          "cannot be directories are errors at the value") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  dir.write("afile", "x");
  const auto errors = [&](const std::string& input, const std::string& output = "out") {
    return errors_of(dir, std::string("recipe_version: 1\n") + kModelLine + "output: " + output +
                              "\nexample_inputs:\n  - " + input + "\n");
  };
  // [1048576, 1048576] of float32 would be 4 TiB; the product overflows no int64 on the way.
  const std::string huge = errors("{name: x, shape: [1048576, 1048576], dtype: float32}");
  CHECK(huge.find("r.yaml:5:") != std::string::npos);
  CHECK(huge.find("at most 1 GiB") != std::string::npos);
  CHECK(errors("{name: x, shape: [1048576, 1048576, 1048576, 1048576], dtype: float32}")
            .find("at most 1 GiB") != std::string::npos);
  CHECK(errors("{name: x, shape: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]}")
            .find("17 dimensions; an example input has at most 16") != std::string::npos);
  CHECK(errors("{name: x, shape: [1024, 1024], dtype: int8, range: [0, 10]}").empty());
  // Integer ranges and fills must be values of the dtype.
  CHECK(errors("{name: x, shape: [2], dtype: int8, range: [0, 1000]}")
            .find("[0, 1000) does not fit int8") != std::string::npos);
  CHECK(errors("{name: x, shape: [2], dtype: int64, range: [0, 1.0e19]}")
            .find("does not fit int64") != std::string::npos);
  CHECK(errors("{name: x, shape: [2], dtype: int64, range: [0.2, 0.7]}")
            .find("holds no integer") != std::string::npos);
  CHECK(errors("{name: x, shape: [2], dtype: int32, fill: 1.5}")
            .find("1.5 is not a value of int32") != std::string::npos);
  CHECK(errors("{name: x, shape: [2], dtype: uint8, fill: 256}")
            .find("256 is not a value of uint8") != std::string::npos);
  CHECK(errors("{name: x, shape: [2], dtype: float16, fill: 1.0e6}")
            .find("overflows float16") != std::string::npos);
  CHECK(errors("{name: x, shape: [2], dtype: float32, fill: -.inf}").empty());
  // The error points at the range, not at the mapping.
  const std::string at = errors("{name: x, shape: [2], dtype: int8, range: [0, 1000]}");
  INFO(at);
  CHECK(at.find("r.yaml:5:47") != std::string::npos);
  // output: a file, or below a file.
  CHECK(errors("{name: x, shape: [2]}", "afile").find("afile exists and is not a directory") !=
        std::string::npos);
  CHECK(errors("{name: x, shape: [2]}", "afile/sub")
            .find("afile is a file, not a directory") != std::string::npos);
  CHECK(errors("{name: x, shape: [2]}", "new/deeper/out").empty());
}

TEST_CASE("--set list indices beyond size_t are errors, not exceptions") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  const std::string got =
      errors_of(dir, std::string("recipe_version: 1\n") + kModelLine +
                         "example_inputs:\n  - {name: x, shape: [2]}\n",
                {"example_inputs.99999999999999999999999.name=y"});
  CHECK(got.find("no list item 99999999999999999999999 to set (the list has 1 items)") !=
        std::string::npos);
}

TEST_CASE("values echoed in recipe errors are bounded: an 8 MB scalar, key or --set is one line") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  const std::string huge(8 << 20, 'z');
  const std::string cut = std::string(80, 'z') + "… (8388608 bytes)";
  std::string got = errors_of(dir, "recipe_version: 1\nmodel: m.pt\nthreads: " + huge + "\n");
  CHECK(got == "r.yaml:3:10: threads: expected an integer, got \"" + cut + "\"");
  got = errors_of(dir, "recipe_version: 1\nmodel: m.pt\ntask: {type: " + huge + "}\n");
  CHECK(got == "r.yaml:3:14: task.type: expected one of none|single-label|multi-label|"
               "language-model, got \"" + cut + "\"");
  // An explicit key: YAML allows no implicit key that long.
  got = errors_of(dir, "recipe_version: 1\nmodel: m.pt\n? " + huge + "\n: 1\n");
  CHECK(got.size() < 2000);
  INFO(got);
  CHECK(got.find("unknown key \"" + cut + "\"") != std::string::npos);
  got = errors_of(dir, "recipe_version: 1\nmodel: m.pt\n", {huge});
  CHECK(got == "--set: \"" + cut + "\": expected KEY=VALUE");
}

TEST_CASE("--set into a scalar or a list, or of a key with no name, is a recipe error") {
  // Found by fuzz_recipe: yaml-cpp threw "operator[] call on a scalar" past the parser (exit 4).
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  CHECK(errors_of(dir, "recipe_version: 1\nmodel: m.pt\ngates: strict\n", {"gates.x.y=1"}) ==
        "--set: gates.x.y: cannot set a key inside a value that is not a mapping");
  CHECK(errors_of(dir, "recipe_version: 1\nmodel: m.pt\nexample_inputs: [a]\n",
                  {"example_inputs.name.x=1"}) ==
        "--set: example_inputs.name.x: cannot set a key inside a value that is not a mapping");
  CHECK(errors_of(dir, "recipe_version: 1\nmodel: m.pt\n", {".=1"}) ==
        "--set: \".=1\": expected KEY=VALUE");
}

TEST_CASE("deep nesting and thousands of errors give a bounded error list") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  // 3000 bad list items: the first 50 errors, then a count.
  std::string items;
  for (int i = 0; i < 3000; ++i) items += "  - {name: x" + std::to_string(i) + ", shape: [1], dtype: int3}\n";
  std::string got = errors_of(dir, "recipe_version: 1\nmodel: m.pt\nexample_inputs:\n" + items);
  CHECK(std::count(got.begin(), got.end(), '\n') == 50);
  CHECK(got.substr(got.rfind('\n') + 1) == "… and 2950 more");
  // 3000 levels in the YAML: refused by the YAML reader in one line.
  got = errors_of(dir, "recipe_version: 1\nmodel: m.pt\ngates: " + std::string(3000, '[') +
                           std::string(3000, ']') + "\n");
  CHECK(got.find('\n') == std::string::npos);
  CHECK(got.rfind("r.yaml:3:", 0) == 0);
  CHECK(got.size() < 300);
  // 3000 levels through --set: one unknown key, its 6000-byte path cut.
  std::string deep = "gates";
  for (int i = 0; i < 3000; ++i) deep += ".a";
  got = errors_of(dir, "recipe_version: 1\nmodel: m.pt\n", {deep + "=1"});
  CHECK(got.find('\n') == std::string::npos);
  CHECK(got.size() < 2000);
  CHECK(got.find("unknown key \"a\"") != std::string::npos);
}
