#include "llmc/passes/cast_boundary.h"

#include <torch/csrc/jit/ir/ir.h>

#include "llmc/passes/cast_dtype.h"

namespace llmc::passes {

namespace {

torch::jit::Value* insert_cast(torch::jit::Graph& graph, torch::jit::Value* v, at::ScalarType type) {
  return graph.insert(c10::Symbol::fromQualString("aten::to"),
                      {v, c10::IValue(static_cast<int64_t>(type)), false, false});
}

bool is_tensor(const torch::jit::Value* v) { return v->type()->cast<c10::TensorType>() != nullptr; }

// An input whose one use is the cast to `type` this pass inserts: cast already.
bool input_cast(const torch::jit::Value* in, at::ScalarType type) {
  if (in->uses().size() != 1 || in->uses()[0].offset != 0) return false;
  const auto dtype = cast_dtype(in->uses()[0].user);
  return dtype && *dtype == type;
}

}  // namespace

CastBoundaryResult cast_boundary(torch::jit::Graph& graph, at::ScalarType compute_type,
                                 const std::vector<bool>& float_inputs) {
  CastBoundaryResult result;
  // Inputs: graph input 0 is self.
  {
    torch::jit::WithInsertPoint guard(graph.block()->nodes().front());
    for (size_t i = 0; i < float_inputs.size() && i + 1 < graph.inputs().size(); ++i) {
      torch::jit::Value* in = graph.inputs()[i + 1];
      if (!float_inputs[i] || !is_tensor(in) || in->uses().empty()) continue;
      if (input_cast(in, compute_type)) continue;
      torch::jit::Value* cast = insert_cast(graph, in, compute_type);
      in->replaceAllUsesAfterNodeWith(cast->node(), cast);
      ++result.inputs_cast;
    }
  }
  // Outputs: a tensor, or the tensors of a returned tuple.
  torch::jit::WithInsertPoint guard(graph.return_node());
  for (size_t i = 0; i < graph.outputs().size(); ++i) {
    torch::jit::Value* out = graph.outputs()[i];
    if (is_tensor(out) && is_cast_to(out, at::kFloat)) {
      continue;  // cast already
    } else if (is_tensor(out)) {
      graph.return_node()->replaceInput(i, insert_cast(graph, out, at::kFloat));
      ++result.outputs_cast;
    } else if (out->node()->kind() == c10::prim::TupleConstruct) {
      torch::jit::Node* tuple = out->node();
      torch::jit::WithInsertPoint before_tuple(tuple);
      for (size_t k = 0; k < tuple->inputs().size(); ++k) {
        if (!is_tensor(tuple->input(k)) || is_cast_to(tuple->input(k), at::kFloat)) continue;
        tuple->replaceInput(k, insert_cast(graph, tuple->input(k), at::kFloat));
        ++result.outputs_cast;
      }
    }
  }
  result.changed = result.inputs_cast + result.outputs_cast;
  return result;
}

}  // namespace llmc::passes
