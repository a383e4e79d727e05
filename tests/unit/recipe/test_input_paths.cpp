// Input paths are derived from the schema: every key declared as an existing file (or
// directory) is recorded when bound, so that no output can contain or replace it (--force).
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "llmc/commands.h"
#include "llmc/recipe/common.h"
#include "llmc/recipe/parse.h"
#include "llmc/recipe/schema.h"
#include "test_support.h"

using llmc::recipe::Context;
using llmc::recipe::PathCheck;
using llmc::recipe::Section;

namespace {

struct Inner {
  std::string file;
  std::string written;
};
struct Outer {
  std::string model;
  std::string out;
  Inner inner;
  std::vector<std::string> inputs;
};
struct Root {
  Outer outer;
};

Section<Inner> inner_schema() {
  Section<Inner> s;
  s.path("file", &Inner::file, PathCheck::existing_file, "an input");
  s.path("written", &Inner::written, PathCheck::output_dir, "an output");
  return s;
}

Section<Outer> outer_schema() {
  Section<Outer> s;
  s.path("model", &Outer::model, PathCheck::existing_file, "an input");
  s.path("out", &Outer::out, PathCheck::output_dir, "an output");
  s.section("inner", &Outer::inner, inner_schema(), "nested");
  s.input_paths(&Outer::inputs);
  return s;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

TEST_CASE("Section::input_paths collects existing-file keys, nested and inlined, not outputs") {
  llmc::test::TempDir dir;
  const auto model = dir.write("m.pt", "x");
  const auto file = dir.write("sub/f.txt", "x");
  const auto recipe =
      dir.write("r.yaml", "model: m.pt\nout: o\ninner: {file: sub/f.txt, written: w}\n");
  Section<Root> root;
  root.inline_section(&Root::outer, outer_schema());
  Context ctx(recipe);
  Root r;
  root.bind(llmc::recipe::load_yaml(recipe), r, ctx, "");
  CHECK(ctx.ok());
  CHECK(r.outer.inputs == std::vector<std::string>{model, file});
  CHECK(ctx.input_paths() == r.outer.inputs);
}

TEST_CASE("an input path given with --set is recorded as resolved") {
  llmc::test::TempDir dir;
  dir.write("m.pt", "x");
  const auto other = dir.write("elsewhere/m2.pt", "x");
  const auto recipe = dir.write("r.yaml", "model: m.pt\n");
  const auto r = llmc::recipe::parse_recipe(recipe, {"model=" + other}, outer_schema());
  CHECK(r.inputs == std::vector<std::string>{other});
}

// Every subcommand's recipe, naming every input key its schema declares. When a subcommand
// gains an input key this test asks for it to be added below (the protection itself needs no
// change: it reads the schema).
TEST_CASE("every input key of every subcommand ends up in CommonRecipe::input_paths") {
  llmc::test::TempDir dir;
  const std::map<std::string, std::string> file_of_key = {
      {"model", "model.pt"},
      {"data.path", "data.jsonl"},
      {"data.tokenizer", "data.model"},
      {"quantize.calibration_data.path", "qcal.jsonl"},
      {"quantize.calibration_data.tokenizer", "qcal.model"},
      {"prune.calibration_data.path", "pcal.jsonl"},
      {"prune.calibration_data.tokenizer", "pcal.model"},
      {"distill.teacher", "teacher.pt"},
      {"distill.train_data.path", "train.jsonl"},
      {"distill.train_data.tokenizer", "train.model"},
      {"compare.models[].path", "cmodel.pt"},
      {"compare.models[].distill_report", "creport.json"},
      {"compare.onnx_runner", "runner.cjs"},
      {"stages[].model", "smodel.pt"},
  };
  for (const auto& [key, file] : file_of_key) dir.write("in/" + file, "x");
  const std::string common =
      "recipe_version: 1\nmodel: in/model.pt\noutput: out\ntask: {type: multi-label}\n"
      "data: {path: in/data.jsonl, text: text, tokenizer: in/data.model, labels: labels}\n";
  const std::map<std::string, std::string> section_of = {
      {"eval-freeze", ""},
      {"export-onnx", "export_onnx: {}\n"},
      {"quantize",
       "quantize:\n  scheme: static-int8\n  calibration_data: {path: in/qcal.jsonl, text: text, "
       "tokenizer: in/qcal.model}\n"},
      {"prune",
       "prune:\n  method: wanda\n  sparsity: 0.5\n  calibration_data: {path: in/pcal.jsonl, "
       "text: text, tokenizer: in/pcal.model}\n"},
      {"distill",
       "distill:\n  teacher: in/teacher.pt\n  train_data: {path: in/train.jsonl, text: text, "
       "tokenizer: in/train.model, labels: labels}\n"},
      {"compare",
       "compare:\n  models: [{path: in/cmodel.pt, distill_report: in/creport.json}]\n"
       "  onnx_runner: in/runner.cjs\n"},
      {"run", "stages:\n  - {name: a, command: eval-freeze, model: in/smodel.pt}\n"},
  };
  for (const auto& command : llmc::commands()) {
    CAPTURE(command.name());
    REQUIRE(section_of.count(command.name()) == 1);
    // compare lists its models under compare.models, without `model:`.
    std::string head = common;
    const std::string model_line = "model: in/model.pt\n";
    if (command.name() == "compare") head.erase(head.find(model_line), model_line.size());
    const auto recipe = dir.write(command.name() + ".yaml", head + section_of.at(command.name()));
    const auto r = command.parse(recipe, {}).common;
    size_t input_keys = 0;
    for (const auto& doc : command.keys()) {
      if (doc.type.rfind("path to an existing", 0) != 0) continue;
      CAPTURE(doc.key);
      ++input_keys;
      REQUIRE_MESSAGE(file_of_key.count(doc.key) == 1, "a new input key: add it to this test");
      CHECK(contains(r.input_paths, (dir.path() / "in" / file_of_key.at(doc.key)).string()));
    }
    CHECK(r.input_paths.size() == input_keys);
    CHECK_FALSE(contains(r.input_paths, (dir.path() / "out").string()));
  }
}
