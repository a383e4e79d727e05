// The compare recipe: default names, the reference, and its errors with line:column.
#include <doctest/doctest.h>

#include "llmc/compare/recipe.h"
#include "llmc/util/error.h"
#include "test_support.h"

namespace {

std::string errors_of(const std::string& path) {
  try {
    llmc::compare::parse_compare_recipe(path, {});
    return "";
  } catch (const llmc::RecipeError& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("compare recipe: default names, the reference by name, the common keys") {
  llmc::test::TempDir dir;
  dir.write("a/model.pt", "x");
  dir.write("b/model.pt", "x");
  dir.write("c.onnx", "x");
  dir.write("d.jsonl", "{}\n");
  const auto path = dir.write(
      "r.yaml",
      "recipe_version: 1\ndata: {path: d.jsonl}\ncompare:\n  models:\n"
      "    - {path: a/model.pt}\n    - {path: b/model.pt}\n    - {path: c.onnx}\n"
      "  reference: b/model.pt\n");
  const auto r = llmc::compare::parse_compare_recipe(path, {});
  REQUIRE(r.compare.models.size() == 3);
  CHECK(r.compare.models[0].name == "a/model.pt");
  CHECK(r.compare.models[2].name == "c.onnx");
  CHECK(r.compare.models[2].format() == llmc::compare::ModelFormat::onnx);
  CHECK(r.compare.models[0].format() == llmc::compare::ModelFormat::torchscript);
  CHECK(r.reference_index == 1);
  CHECK(r.common.model == (dir.path() / "b/model.pt").string());
  CHECK(r.compare.batch_size == 16);
  // Every model file is an input no output may replace.
  CHECK(r.common.input_paths.size() == 4);
}

TEST_CASE("compare recipe: errors name the line") {
  llmc::test::TempDir dir;
  dir.write("a.pt", "x");
  dir.write("c.onnx", "x");
  dir.write("d.jsonl", "{}\n");
  const std::string head = "recipe_version: 1\ndata: {path: d.jsonl}\n";
  CHECK(errors_of(dir.write("r1.yaml", head + "compare:\n  models:\n    - {path: c.onnx}\n"))
            .find("r1.yaml:5:7: compare.models[0]: the reference must be a TorchScript model") !=
        std::string::npos);
  CHECK(errors_of(dir.write("r2.yaml", head + "compare:\n  models: []\n"))
            .find("compare.models lists no model") != std::string::npos);
  CHECK(errors_of(dir.write("r3.yaml", head + "compare:\n  models:\n    - {path: a.pt}\n"
                                              "  temperature: 0\n"))
            .find("r3.yaml:6:16: compare.temperature:") != std::string::npos);
  CHECK(errors_of(dir.write("r4.yaml", head + "compare:\n  models:\n    - {path: a.pt}\n"
                                              "  cost: {hardware_per_hour: 1}\n"))
            .find("r4.yaml:6:9: compare.cost: cost needs hardware_per_hour and "
                  "requests_per_month") != std::string::npos);
  CHECK(errors_of(dir.write("r5.yaml", head + "compare:\n  models:\n    - {path: gone.pt}\n"))
            .find("r5.yaml:5:14: compare.models[0].path: file not found") != std::string::npos);
}

TEST_CASE("compare recipe from model files: paths from the working directory, --set overrides") {
  llmc::test::TempDir dir;
  const auto a = dir.write("a.pt", "x");
  const auto b = dir.write("b.pt", "x");
  const auto d = dir.write("d.jsonl", "{}\n");
  const auto r = llmc::compare::parse_compare_files(
      {a, b}, {"data.path=" + d, "compare.reference=b.pt", "compare.batch_size=4"});
  CHECK(r.compare.models[1].name == "b.pt");
  CHECK(r.reference_index == 1);
  CHECK(r.common.output == "compare-out");
  CHECK(r.compare.batch_size == 4);
  try {
    llmc::compare::parse_compare_files({a}, {});
    FAIL("no error");
  } catch (const llmc::RecipeError& e) {
    CHECK(std::string(e.what()).find("command line: no measurement inputs") != std::string::npos);
  }
}
