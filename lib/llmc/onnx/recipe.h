// The `export_onnx:` section of a recipe: opset, input/output names, dynamic axes, external
// data, and how the exported file is verified in ONNX Runtime.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "llmc/recipe/common.h"
#include "llmc/recipe/schema.h"

namespace llmc::onnx {

constexpr int64_t kMinOpset = 13;
constexpr int64_t kMaxOpset = 17;  // the newest opset Debian's libonnx knows
constexpr int64_t kIrVersion = 8;

enum class Runtime { onnxruntime, none };
enum class ExternalData { automatic, always, never };

struct VerifyOptions {
  Runtime runtime = Runtime::onnxruntime;
  // Extra sizes of named dynamic axes to verify on (e.g. batch: [1, 5], sequence: [7, 40]);
  // entry i of every list makes shape i. Empty: llmc picks two shapes of its own.
  std::map<std::string, std::vector<int64_t>> sizes;
  double tolerance = 1e-4;  // max abs diff vs LibTorch (fp32); quantized models get `quantized_tolerance`
  double quantized_tolerance = 0.05;
  std::string runner;  // path of ort_run.cjs; empty: $LLMC_ORT_RUNNER or the built-in path
};

struct ExportOptions {
  int64_t opset = 17;
  std::vector<std::string> input_names;   // empty: forward's argument names (the given inputs)
  std::vector<std::string> output_names;  // empty: output, output_1, ... ("logits" is not guessed)
  // input name -> axis names by position; "_" (or "") marks a fixed axis, missing trailing axes
  // are fixed.
  std::map<std::string, std::vector<std::string>> dynamic_axes;
  ExternalData external_data = ExternalData::automatic;
  VerifyOptions verify;
  recipe::Origin origin;
};

struct ExportRecipe {
  recipe::CommonRecipe common;
  ExportOptions onnx;
};

recipe::Section<ExportRecipe> export_schema();
ExportRecipe parse_export_recipe(const std::string& path, const std::vector<std::string>& sets);

// The named axes of one input: position -> name ("" for fixed axes).
std::vector<std::string> axis_names(const ExportOptions& o, const std::string& input);

}  // namespace llmc::onnx
