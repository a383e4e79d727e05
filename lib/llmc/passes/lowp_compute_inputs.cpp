#include "llmc/passes/lowp_compute_inputs.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <torch/csrc/jit/ir/ir.h>

#include "llmc/passes/cast_dtype.h"

namespace llmc::passes {

namespace {

// Operand positions that carry activations (weights and biases of the frozen graph are
// constants of the compute type already; casting a constant is harmless but useless).
const std::map<std::string, std::vector<size_t>>& operands() {
  static const std::map<std::string, std::vector<size_t>> kinds = {
      {"aten::linear", {0, 1}},          {"aten::matmul", {0, 1}},
      {"aten::mm", {0, 1}},              {"aten::bmm", {0, 1}},
      {"aten::addmm", {0, 1, 2}},        {"aten::baddbmm", {0, 1, 2}},
      {"aten::conv1d", {0, 1}},          {"aten::conv2d", {0, 1}},
      {"aten::conv3d", {0, 1}},          {"aten::conv_transpose1d", {0, 1}},
      {"aten::conv_transpose2d", {0, 1}}, {"aten::conv_transpose3d", {0, 1}},
      {"aten::_convolution", {0, 1}}};
  return kinds;
}

bool is_constant(const torch::jit::Value* v) { return v->node()->kind() == c10::prim::Constant; }

torch::jit::Value* cast_to(torch::jit::Graph& graph, torch::jit::Value* v, at::ScalarType type) {
  return graph.insert(c10::aten::to, {v, c10::IValue(static_cast<int64_t>(type)), false, false,
                                      c10::IValue()});
}

// aten::lstm(input, hx: Tensor[], params, ...) and gru/rnn(input, hx: Tensor, ...): the input and
// the initial states. A trace bakes float32 zeros for the states (torch.zeros(..., dtype=6)).
void rewrite_rnn(torch::jit::Node* node, torch::jit::Graph& graph, at::ScalarType type, PassResult& cast) {
  torch::jit::WithInsertPoint before(node);
  torch::jit::Value* input = node->input(0);
  if (input->type()->kind() == c10::TypeKind::TensorType && !is_constant(input) &&
      !is_cast_to(input, type)) {
    node->replaceInput(0, cast_to(graph, input, type));
    ++cast.changed;
  }
  torch::jit::Value* hx = node->input(1);
  const auto cast_already = [&](const torch::jit::Value* v) { return is_cast_to(v, type); };
  if (hx->node()->kind() == c10::prim::ListConstruct &&
      std::all_of(hx->node()->inputs().begin(), hx->node()->inputs().end(), cast_already)) {
    return;  // cast already (a second run)
  }
  if (hx->node()->kind() == c10::prim::ListConstruct) {
    // A fresh list: the original may be used elsewhere.
    std::vector<torch::jit::Value*> items;
    for (torch::jit::Value* item : hx->node()->inputs()) items.push_back(cast_to(graph, item, type));
    torch::jit::Value* list =
        graph.insertNode(graph.createList(c10::TensorType::get(), items))->output();
    node->replaceInput(1, list);
    cast.changed += static_cast<int64_t>(items.size());
  } else if (hx->type()->kind() == c10::TypeKind::TensorType && !cast_already(hx)) {
    node->replaceInput(1, cast_to(graph, hx, type));
    ++cast.changed;
  }
}

void rewrite(torch::jit::Block* block, torch::jit::Graph& graph, at::ScalarType type, PassResult& cast) {
  for (torch::jit::Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) rewrite(sub, graph, type, cast);
    const std::string kind = node->kind().toQualString();
    if (kind == "aten::lstm" || kind == "aten::gru" || kind == "aten::rnn_tanh" ||
        kind == "aten::rnn_relu") {
      rewrite_rnn(node, graph, type, cast);
      continue;
    }
    const auto it = operands().find(kind);
    if (it == operands().end()) continue;
    torch::jit::WithInsertPoint before(node);
    for (const size_t i : it->second) {
      if (i >= node->inputs().size()) continue;
      torch::jit::Value* v = node->input(i);
      if (is_constant(v) || v->type()->kind() != c10::TypeKind::TensorType) continue;
      if (is_cast_to(v, type)) continue;  // cast already (a second run)
      node->replaceInput(i, graph.insert(c10::aten::to, {v, c10::IValue(static_cast<int64_t>(type)),
                                                         false, false, c10::IValue()}));
      ++cast.changed;
    }
  }
}

}  // namespace

PassResult lowp_compute_inputs(torch::jit::Graph& graph, at::ScalarType compute_type) {
  PassResult cast;
  rewrite(graph.block(), graph, compute_type, cast);
  return cast;
}

}  // namespace llmc::passes
