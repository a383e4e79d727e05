// The `compare:` section of a recipe: the models measured side by side (TorchScript files run
// by LibTorch, ONNX files run by ONNX Runtime), the reference agreement is measured against,
// the latency batch size, distill runs whose learning curves are charted, the temperature of
// the softmax panel and the serving-cost assumptions. The common keys (data, task, bench,
// gates, output, threads) are the other subcommands'; `model:` is not one of them: the models
// are listed under compare.models.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmc/compare/cost.h"
#include "llmc/recipe/common.h"
#include "llmc/recipe/schema.h"

namespace llmc::compare {

enum class ModelFormat { torchscript, onnx };

// The quantized engine of the process (int8 models from `llmc quantize` are repacked for it when
// loaded); as_loaded: LibTorch's default.
enum class QuantizedEngine { as_loaded, onednn, qnnpack };

struct ModelEntry {
  std::string path;
  std::string name;            // label in tables and charts; default: the file name
  std::string distill_report;  // a `llmc distill` report.json whose history is charted
  recipe::Origin origin;
  ModelFormat format() const;  // from the extension: .onnx is ONNX, anything else TorchScript
};

struct CompareOptions {
  std::vector<ModelEntry> models;
  std::string reference;    // a model's name or path; "" = the first model
  int64_t batch_size = 16;  // rows of the batch latency and memory are measured on
  std::optional<double> temperature;  // softmax-with-temperature panel in report.html
  std::optional<CostSpec> cost;
  std::string onnx_runner;  // ONNX Runtime runner script; "" = the build's (as export-onnx)
  QuantizedEngine quantized_engine = QuantizedEngine::as_loaded;
  recipe::Origin origin;
  recipe::Origin engine_origin;
  recipe::Origin reference_origin;
};

struct CompareRecipe {
  recipe::CommonRecipe common;  // common.model: the reference's path (set after parsing)
  CompareOptions compare;
  size_t reference_index = 0;  // into compare.models
};

recipe::Section<CompareRecipe> compare_schema();

// Parses a compare recipe (RecipeError with file:line:col for every issue).
CompareRecipe parse_compare_recipe(const std::string& path, const std::vector<std::string>& sets);
// The same for a document that did not come from its own file (`name` stands for it; relative
// paths are relative to its directory); `llmc run` builds its comparison this way.
CompareRecipe parse_compare_document(const std::string& name, YAML::Node root,
                                     const std::vector<std::string>& sets);

// `llmc compare a.pt b.pt c.onnx --data FILE ...`: the same recipe from model files given on the
// command line (paths relative to the working directory; output defaults to compare-out) and
// --set overrides; issues name "command line" instead of a recipe file.
CompareRecipe parse_compare_files(const std::vector<std::string>& files,
                                  const std::vector<std::string>& sets);

}  // namespace llmc::compare
