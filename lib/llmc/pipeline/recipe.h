// A pipeline recipe (`llmc run`): the keys every recipe shares at the top (model, data, task,
// example_inputs, bench, gates, output, threads, ...) and `stages:`, an ordered list of stages,
// each one subcommand with its own options:
//
//   stages:
//     - {name: int8, command: quantize, scheme: dynamic-int8, gates: {min_cosine: 0.99}}
//     - {name: frozen, command: eval-freeze}
//     - {name: onnx, command: export-onnx, opset: 17}
//
// A stage's keys are name, command, model, gates and on_gate_failure; every other key is an
// option of its subcommand's section (quantize.scheme above). Each stage is checked with its
// subcommand's own schema, from a recipe made of the shared keys, the stage's model (by default
// the artifact of the stage before it), its output directory OUT/<name>, its gates and its
// section: so a stage runs exactly what `llmc <command>` would run with that recipe. The
// chaining rules (unique names, an ONNX artifact feeds no stage, a frozen one no stage that
// needs modules: quantize, prune, distill) are checked here,
// before anything runs. docs/pipelines.md.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "llmc/commands.h"
#include "llmc/recipe/common.h"
#include "llmc/recipe/schema.h"

namespace llmc::pipeline {

enum class OnGateFailure { stop, carry_on };

// The kind of file a stage's artifact is (frozen_torchscript: eval-freeze's, whose modules and
// parameters are inlined as constants).
enum class ArtifactKind { torchscript, frozen_torchscript, onnx };

// The subcommands a stage may run and the artifact each makes; nullptr when `command` is none.
const ArtifactKind* stage_artifact_kind(const std::string& command);

// A stage's own keys (the rest of its mapping is its subcommand's options).
struct StageHead {
  std::string name;
  std::string command;
  std::string model;  // resolved; "" = the artifact of the stage before (stage 1: the recipe's)
  OnGateFailure on_gate_failure = OnGateFailure::stop;
  recipe::Origin origin;
};

struct Stage {
  StageHead head;
  size_t index = 0;                   // 0-based position in `stages`
  const CommandInfo* command = nullptr;
  // The stage's recipe without `model` and `output` (they are added when it runs): the shared
  // keys, the stage's gates and its subcommand's section. Its nodes keep their file positions.
  YAML::Node document;
  // The stage's options as canonical JSON (keys sorted): every key of `document`; part of the
  // stage cache's key.
  std::string options_json;
  // The input files the stage reads besides its model (data, tokenizer, calibration data,
  // teacher, ...), resolved, from its subcommand's schema; hashed for the stage cache.
  std::vector<std::string> data_files;
  // The stage's own data files with their keys (stages[i].calibration_data, ...), for validate.
  std::vector<std::pair<std::string, recipe::DataSpec>> data;

  // The stage's key as written in messages, "stages[1]".
  std::string key() const;
};

struct PipelineRecipe {
  std::string path;              // the recipe file (relative paths in it are relative to it)
  recipe::CommonRecipe common;   // the shared keys; common.gates: the final artifact's gates
  YAML::Node shared;             // the shared keys as written (the recipe without `stages`)
  std::vector<Stage> stages;
};

// Parses and checks the whole pipeline: the shared keys, every stage with its subcommand's
// schema, and the chaining rules. Every issue is collected and thrown at once (RecipeError, exit
// 2); issues inside a stage name it: `stages[1].scheme` and `stage "int8" (quantize): ...`.
PipelineRecipe parse_pipeline_document(const std::string& name, YAML::Node root,
                                       const std::vector<std::string>& sets);
PipelineRecipe parse_pipeline_recipe(const std::string& path, const std::vector<std::string>& sets);

// The documented keys of a pipeline recipe (docs/recipes.md).
std::vector<recipe::KeyDoc> pipeline_keys();

// A stage's recipe document with its input model and output directory (paths as the rest of
// the program sees them, i.e. relative to the working directory or absolute).
YAML::Node stage_document(const PipelineRecipe& pipeline, const Stage& stage,
                          const std::string& model, const std::string& output);

// A path as the program sees it, written so that a recipe document named `recipe_path` reads it
// back as the same path (relative to the recipe's directory, `$` escaped).
std::string path_for_document(const std::string& path, const std::string& recipe_path);

// A YAML value as JSON with the keys of mappings sorted (scalars stay strings).
util::Json canonical_json(const YAML::Node& node);

}  // namespace llmc::pipeline
