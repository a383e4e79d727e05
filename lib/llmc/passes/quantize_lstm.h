// Pass quantize_lstm: dynamic int8 for LSTMs of a frozen graph, as PyTorch's eager
// quantize_dynamic does for nn.LSTM (LibTorch 1.13's graph-mode passes quantize only Linear
// and embedding_bag). Each selected `aten::lstm` on constant weights becomes
// `aten::quantized_lstm(..., dtype=qint8, use_dynamic=True)`: per layer and direction, the
// input-hidden and hidden-hidden weights are quantized to int8 (by the caller's observer),
// packed for the quantized engine (quantized::linear_prepack) and combined with the float
// biases into a cell (quantized::make_quantized_cell_params_dynamic), a graph constant of type
// CellParamsBase. Activations are quantized at run time, every step, like the dynamic Linear.
// LSTMs with projections (proj_size) or on packed sequences (aten::lstm.data) are left alone.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

struct QuantizedLstm {
  std::string name;  // module path from the weights' constant name, e.g. "encoder.lstm"
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t layers = 0;
  bool bidirectional = false;
  int64_t bytes_before = 0;  // float32 weights and biases
  int64_t bytes_after = 0;   // int8 weights, float32 biases
};

// changed: LSTMs converted, each in `done` (and by module path in `sites`); left: selected
// LSTMs it could not convert, by module path.
struct QuantizeLstmResult : PassResult {
  std::vector<QuantizedLstm> done;
};

struct QuantizeLstmOptions {
  std::function<bool(const std::string&)> select;                  // by module path
  std::function<at::Tensor(const at::Tensor&)> quantize_weight;    // fp32 [4H, in] -> qint8
  bool reduce_range = false;                                       // 7-bit activations
  // Names an LSTM by its first weight (weight_ih_l0) when the weights' constant has no name of
  // its own (a traced model folds them into an anonymous list); "" when unknown.
  std::function<std::string(const at::Tensor&)> name_by_weight;
};

// Rewrites the selected LSTMs of `graph` in place. The float weights are left for dead-code
// elimination.
QuantizeLstmResult quantize_lstm(torch::jit::Graph& graph, const QuantizeLstmOptions& options);

}  // namespace llmc::passes
