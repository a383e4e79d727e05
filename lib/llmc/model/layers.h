// The layers of a TorchScript model that compression works on, found by module type, and the
// name globs recipes select them with (include/exclude). Shared by quantize and prune.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

namespace llmc::model {

// fnmatch-style glob over a dotted module name ("bert.encoder.layer.*.output.dense").
bool matches_any(const std::string& name, const std::vector<std::string>& globs);
// Selected by include globs and not by exclude globs.
bool selected(const std::string& name, const std::vector<std::string>& include,
              const std::vector<std::string>& exclude);

// torch.nn.Linear (its type name ends in ".Linear" and it holds a weight), or any module whose
// forward calls aten::linear on its own 2-D weight (GPT-2's Conv1D after
// passes::conv1d_to_linear).
bool is_linear(const torch::jit::Module& m);

struct NamedLayer {
  std::string name;  // module path, e.g. "bert.encoder.layer.0.attention.self.query"
  torch::jit::Module module;
};

// Every Linear submodule in named_modules() order.
std::vector<NamedLayer> linear_layers(const torch::jit::Module& model);

// The name of another parameter or buffer of `model` that shares `layer`'s weight storage (a
// tied weight, e.g. GPT-2's lm_head and transformer.wte), or "" when there is none. A copy of
// the model made by Module::clone() may hold the two as separate tensors (its memo does not span
// submodules): a parameter of the same shape and bit-identical, non-zero values counts too.
std::string tied_weight(const torch::jit::Module& model, const NamedLayer& layer);

// torch.nn.LSTM (its type name ends in ".LSTM"; scripted it holds _flat_weights, traced
// weight_ih_l0).
bool is_lstm(const torch::jit::Module& m);
// Every LSTM submodule in named_modules() order.
std::vector<NamedLayer> lstm_layers(const torch::jit::Module& model);

}  // namespace llmc::model
