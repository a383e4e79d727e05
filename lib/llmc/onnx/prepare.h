// Step 1 of the export: a TorchScript module becomes one flat graph the lowering can read.
// eval(), freeze (parameters become named constants), inline, drop dropout, fold conv+BN,
// remove tensor and list mutation, fold constants, flatten tuples; forward arguments the
// recipe does not give are replaced by their defaults, and `self` is dropped.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/script.h>

namespace llmc::onnx {

struct PreparedGraph {
  std::shared_ptr<torch::jit::Graph> graph;  // inputs: the given forward arguments, in order
  std::vector<std::string> input_names;      // their forward argument names
  torch::jit::Module frozen;                 // owns the constants' storage
  std::vector<std::string> passes;           // what ran, for the report
  std::vector<std::string> warnings;         // e.g. float16 weights stored as float32
};

// `given` lists the forward arguments the recipe provides. InputError (exit 3) for a model
// traced in training mode, a model that computes in bfloat16 (ONNX Runtime has no CPU bf16
// kernels for its products), a required argument that is not given, or a graph that cannot be
// prepared; `model_path` names the model in messages.
PreparedGraph prepare_graph(const torch::jit::Module& model, const std::vector<std::string>& given,
                            const std::string& model_path);

// "model.py:12:8: x = torch.dropout(...)" for messages, or the node's kind when the graph has no
// source information.
std::string where(const torch::jit::Node* node);

}  // namespace llmc::onnx
