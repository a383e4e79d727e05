#include "llmc/passes/cast_dtype.h"

namespace llmc::passes {

std::optional<at::ScalarType> cast_dtype(const torch::jit::Node* node) {
  if (node->kind() != c10::aten::to || node->inputs().size() < 2) return std::nullopt;
  const auto dtype = torch::jit::toIValue(node->input(1));
  if (!dtype || !dtype->isInt()) return std::nullopt;
  return static_cast<at::ScalarType>(dtype->toInt());
}

bool is_cast_to(const torch::jit::Value* v, at::ScalarType type) {
  const auto dtype = cast_dtype(v->node());
  return dtype && *dtype == type;
}

}  // namespace llmc::passes
