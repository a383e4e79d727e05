// The pipeline recipe: stages bound with their subcommands' schemas, errors named after the
// stage with line:column, the chaining rules, and each stage's recipe document.
#include <doctest/doctest.h>

#include "llmc/pipeline/recipe.h"
#include "llmc/util/error.h"
#include "test_support.h"

using llmc::test::has;

namespace {

const std::string kHead =
    "recipe_version: 1\nmodel: m.pt\noutput: out\n"
    "example_inputs:\n  - {name: x, shape: [2, 4]}\n";

std::string errors_of(const std::string& path) {
  try {
    llmc::pipeline::parse_pipeline_recipe(path, {});
    return "";
  } catch (const llmc::RecipeError& e) {
    return e.what();
  }
}

}  // namespace

TEST_CASE("pipeline recipe: stages, their commands and options, chained models") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  dir.write("other.pt", "x");
  dir.write("cal.jsonl", "{}\n");
  const auto path = dir.write(
      "p.yaml", kHead +
                    "gates: {min_cosine: 0.9}\n"
                    "stages:\n"
                    "  - {name: frozen, command: prune, sparsity: 0.5}\n"
                    "  - name: int8\n    command: quantize\n    scheme: dynamic-int8\n"
                    "    gates: {min_cosine: 0.99}\n    on_gate_failure: continue\n"
                    "  - {name: onnx, command: export-onnx, opset: 17}\n");
  const auto p = llmc::pipeline::parse_pipeline_recipe(path, {});
  REQUIRE(p.stages.size() == 3);
  CHECK(p.common.gates.min_cosine == 0.9);
  CHECK(p.stages[0].head.name == "frozen");
  CHECK(p.stages[0].command->name() == "prune");
  CHECK(p.stages[1].head.on_gate_failure == llmc::pipeline::OnGateFailure::carry_on);
  CHECK(p.stages[0].head.on_gate_failure == llmc::pipeline::OnGateFailure::stop);
  CHECK(p.stages[1].head.model.empty());  // the artifact of the stage before
  CHECK(p.stages[2].key() == "stages[2]");
  // The stage's options are its section; its gates replace the top-level ones; model and
  // output are not part of its options (the cache hashes the input model itself).
  const auto doc = p.stages[1].document;
  CHECK(doc["quantize"]["scheme"].as<std::string>() == "dynamic-int8");
  CHECK(doc["gates"]["min_cosine"].as<std::string>() == "0.99");
  CHECK_FALSE(doc["model"].IsDefined());
  CHECK_FALSE(doc["output"].IsDefined());
  CHECK(has(p.stages[1].options_json, "\"scheme\":\"dynamic-int8\""));
  CHECK_FALSE(has(p.stages[0].options_json, "min_cosine"));
  // The document a stage runs has its model and output (read back as the same paths: the
  // recipe's directory is absolute here, so are they).
  const std::string model = (dir.path() / "out/frozen/model.pt").string();
  const auto run_doc = llmc::pipeline::stage_document(p, p.stages[1], model,
                                                      (dir.path() / "out/int8").string());
  CHECK(run_doc["model"].as<std::string>() == model);
  CHECK(run_doc["output"].as<std::string>() == (dir.path() / "out/int8").string());
  CHECK(run_doc["quantize"]["scheme"].as<std::string>() == "dynamic-int8");
  CHECK_FALSE(p.stages[1].document["model"].IsDefined());  // the stage's own is untouched
}

TEST_CASE("pipeline recipe: a stage's own model, data files per stage") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  dir.write("other.pt", "x");
  dir.write("cal.jsonl", "{}\n");
  const auto path = dir.write(
      "p.yaml", kHead + "stages:\n"
                        "  - {name: onnx, command: export-onnx}\n"
                        "  - {name: q, command: quantize, model: other.pt, scheme: static-int8,"
                        " calibration_data: {path: cal.jsonl}}\n");
  const auto p = llmc::pipeline::parse_pipeline_recipe(path, {});
  REQUIRE(p.stages.size() == 2);
  CHECK(p.stages[1].head.model == (dir.path() / "other.pt").string());
  REQUIRE(p.stages[1].data.size() == 1);
  CHECK(p.stages[1].data[0].first == "stages[1].calibration_data");
  REQUIRE(p.stages[1].data_files.size() == 1);
  CHECK(p.stages[1].data_files[0] == (dir.path() / "cal.jsonl").string());
}

TEST_CASE("pipeline recipe: errors name the stage, the key and the line") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  const std::string s = kHead + "stages:\n  - {name: frozen, command: quantize}\n";
  SUBCASE("a bad key in stage 2: the subcommand's schema, at its line") {
    const auto e = errors_of(
        dir.write("p.yaml", s + "  - name: int8\n    command: quantize\n    shceme: dynamic-int8\n"));
    CHECK(has(e, "p.yaml:10:5: stages[1].shceme: stage \"int8\" (quantize): unknown key "
                 "\"shceme\" (did you mean \"scheme\"?)"));
  }
  SUBCASE("a bad value") {
    const auto e = errors_of(
        dir.write("p.yaml", s + "  - {name: int8, command: quantize, scheme: int3}\n"));
    CHECK(has(e, "p.yaml:8:45: stages[1].scheme: stage \"int8\" (quantize): expected one of"));
  }
  SUBCASE("a bad stage gate") {
    const auto e = errors_of(
        dir.write("p.yaml", s + "  - {name: int8, command: quantize, gates: {min_cosin: 1}}\n"));
    CHECK(has(e, "stages[1].gates.min_cosin: stage \"int8\" (quantize): unknown key"));
  }
  SUBCASE("an unknown command") {
    const auto e = errors_of(dir.write("p.yaml", s + "  - {name: c, command: compare}\n"));
    CHECK(has(e, "p.yaml:8:24: stages[1].command: expected one of "
                 "eval-freeze|quantize|prune|distill|export-onnx, got \"compare\""));
  }
  SUBCASE("a duplicate name") {
    const auto e = errors_of(dir.write("p.yaml", s + "  - {name: frozen, command: quantize}\n"));
    CHECK(has(e, "p.yaml:8:12: stages[1].name: duplicate stage name \"frozen\" (stages[0] has it)"));
  }
  SUBCASE("a missing name, a reserved name") {
    CHECK(has(errors_of(dir.write("p.yaml", s + "  - {command: quantize}\n")),
              "missing required key \"stages[1].name\""));
    CHECK(has(errors_of(dir.write("p.yaml", s + "  - {name: compare, command: quantize}\n")),
              "stages[1].name: stage name \"compare\""));
    CHECK(has(errors_of(dir.write("p.yaml", s + "  - {name: ../x, command: quantize}\n")),
              "stages[1].name: stage name \"../x\""));
  }
  SUBCASE("a TorchScript stage after export-onnx") {
    const auto e = errors_of(dir.write(
        "p.yaml", s + "  - {name: onnx, command: export-onnx}\n  - {name: q, command: quantize}\n"));
    CHECK(has(e, "p.yaml:9:5: stages[2]: stage \"q\" (quantize) needs a TorchScript model, but "
                 "stage \"onnx\" before it makes an ONNX file"));
  }
  SUBCASE("a stage that needs modules after eval-freeze") {
    const auto e = errors_of(dir.write(
        "p.yaml", s + "  - {name: ef, command: eval-freeze}\n  - {name: p, command: prune}\n"));
    CHECK(has(e, "p.yaml:9:5: stages[2]: stage \"p\" (prune) needs the model's modules and "
                 "parameters, but stage \"ef\" before it freezes them"));
    // export-onnx reads a frozen model; a stage with its own model is not chained.
    CHECK(errors_of(dir.write("p.yaml", s + "  - {name: ef, command: eval-freeze}\n"
                                            "  - {name: o, command: export-onnx}\n"
                                            "  - {name: q, command: quantize, model: m.pt}\n")) ==
          "");
  }
  SUBCASE("no stages, a subcommand section at the top") {
    CHECK(has(errors_of(dir.write("p.yaml", kHead)), "missing required key \"stages\""));
    CHECK(has(errors_of(dir.write("p.yaml", kHead + "stages: []\n")),
              "stages: expected a non-empty list of stages"));
    CHECK(has(errors_of(dir.write("p.yaml", s + "quantize: {scheme: dynamic-int8}\n")),
              "unknown key \"quantize\": a pipeline's subcommand options go in a stage"));
  }
  SUBCASE("--set reaches a stage's options") {
    const auto path = dir.write("p.yaml", s + "  - {name: int8, command: quantize}\n");
    CHECK_THROWS_AS(llmc::pipeline::parse_pipeline_recipe(path, {"stages[1].scheme=int3"}),
                    llmc::RecipeError);
    const auto p = llmc::pipeline::parse_pipeline_recipe(path, {"stages[1].scheme=fp16"});
    CHECK(has(p.stages[1].options_json, "\"scheme\":\"fp16\""));
  }
}

TEST_CASE("canonical_json: keys sorted, so the options hash does not depend on their order") {
  const auto a = llmc::pipeline::canonical_json(YAML::Load("{b: 1, a: [x, {d: 2, c: 3}]}"));
  const auto b = llmc::pipeline::canonical_json(YAML::Load("{a: [x, {c: 3, d: 2}], b: 1}"));
  CHECK(a.dump() == b.dump());
  CHECK(a.dump() == "{\"a\":[\"x\",{\"c\":\"3\",\"d\":\"2\"}],\"b\":\"1\"}");
}

TEST_CASE("path_for_document: read back relative to the recipe's directory") {
  CHECK(llmc::pipeline::path_for_document("a/out/q", "a/p.yaml") == "out/q");
  CHECK(llmc::pipeline::path_for_document("out/q", "p.yaml") == "out/q");
  CHECK(llmc::pipeline::path_for_document("out/q", "sub/p.yaml") == "../out/q");
  CHECK(llmc::pipeline::path_for_document("/abs/q", "sub/p.yaml") == "/abs/q");
  CHECK(llmc::pipeline::path_for_document("a$b", "p.yaml") == "a$$b");
}
