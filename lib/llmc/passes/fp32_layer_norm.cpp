#include "llmc/passes/fp32_layer_norm.h"

#include <optional>

#include <torch/csrc/jit/ir/ir.h>

#include "llmc/passes/cast_dtype.h"

namespace llmc::passes {

namespace {

using torch::jit::Node;
using torch::jit::Value;

// None, or a float32 tensor constant.
bool float32_or_none(const Value* v) {
  if (v->type()->kind() == c10::TypeKind::NoneType) return true;
  const auto value = torch::jit::toIValue(v);
  return value && (value->isNone() || (value->isTensor() && value->toTensor().scalar_type() == at::kFloat));
}

// A float32 copy of a constant tensor operand; nullptr for None; nullopt when the operand is not
// a constant (then the node is left alone).
std::optional<Value*> widened_constant(torch::jit::Graph& graph, Value* v) {
  if (v->type()->kind() == c10::TypeKind::NoneType) return v;
  const auto value = torch::jit::toIValue(v);
  if (!value) return std::nullopt;
  if (value->isNone()) return v;
  if (!value->isTensor()) return std::nullopt;
  const at::Tensor t = value->toTensor();
  if (!t.is_floating_point()) return std::nullopt;
  return graph.insertConstant(t.to(at::kFloat));
}

void rewrite(torch::jit::Block* block, torch::jit::Graph& graph, PassResult& result) {
  for (Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) rewrite(sub, graph, result);
    // aten::layer_norm(input, normalized_shape, weight?, bias?, eps, cudnn_enable)
    if (node->kind() != c10::aten::layer_norm || node->inputs().size() != 6) continue;
    // Rewritten already (float32 in, float32 weight and bias): computes in float32 as it is.
    if (is_cast_to(node->input(0), at::kFloat) && float32_or_none(node->input(2)) &&
        float32_or_none(node->input(3))) {
      continue;
    }
    torch::jit::WithInsertPoint before(node);
    const auto weight = widened_constant(graph, node->input(2));
    const auto bias = widened_constant(graph, node->input(3));
    if (!weight || !bias) {
      result.left.push_back({node_site(node), kNotConstant});
      continue;
    }
    Value* x = node->input(0);
    Value* dtype = graph.insert(c10::prim::dtype, {x});
    Value* wide = graph.insert(c10::aten::to, {x, c10::IValue(static_cast<int64_t>(at::kFloat)),
                                               false, false, c10::IValue()});
    node->replaceInput(0, wide);
    node->replaceInput(2, *weight);
    node->replaceInput(3, *bias);
    torch::jit::WithInsertPoint after(node->next());
    Value* out = node->output();
    Value* back = graph.insert(c10::aten::to, {out, dtype, false, false, c10::IValue()});
    out->replaceAllUsesAfterNodeWith(back->node(), back);
    ++result.changed;
  }
}

}  // namespace

const char* const kNotConstant = "its weight or bias is not a constant (unfrozen graph)";

PassResult fp32_layer_norm(torch::jit::Graph& graph) {
  PassResult result;
  rewrite(graph.block(), graph, result);
  return result;
}

}  // namespace llmc::passes
