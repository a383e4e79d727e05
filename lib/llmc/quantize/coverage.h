// What an int8 scheme covers of a model: its matrix layers (Linear, GPT-2's Conv1D as Linear,
// LSTM), how many were quantized and what share of the weights that is, and the 2-D weights
// that belong to no layer llmc quantizes (they stay float32: said in a warning, never silently).
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/quantize/quantize.h"

namespace llmc::quantize {

struct MatrixCoverage {
  int64_t layers_found = 0;
  int64_t layers_quantized = 0;
  int64_t weights_found = 0;       // elements of the found layers' weights
  int64_t weights_quantized = 0;
  int64_t parameters = 0;          // elements of all floating-point parameters and buffers
  std::vector<std::string> left;   // "name [rows x cols]": 2-D weights outside every such layer
  int64_t left_elements = 0;
};

// `plan`: plan_layers of the (canonicalized) model. Embedding tables are not matrix layers here
// (quantize.embeddings handles them).
MatrixCoverage matrix_coverage(const torch::jit::Module& model, const std::vector<LayerPlan>& plan);

// details.matrix_layers, a log line, and a warning for `left`.
void report_coverage(const MatrixCoverage& c, util::Json& details, std::vector<std::string>& warnings);

}  // namespace llmc::quantize
