// The dtype an `aten::to(self, dtype, …)` node casts to, for the passes that insert such casts
// and must recognise their own on a second run (idempotence, pass_result.h).
#pragma once

#include <optional>

#include <torch/csrc/jit/ir/ir.h>

namespace llmc::passes {

// The constant dtype of `node` when it is aten::to(self, dtype, …); nullopt otherwise.
std::optional<at::ScalarType> cast_dtype(const torch::jit::Node* node);

// Whether `v` is the output of an aten::to to `type`.
bool is_cast_to(const torch::jit::Value* v, at::ScalarType type);

}  // namespace llmc::passes
