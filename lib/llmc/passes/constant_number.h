// The number a graph value holds when it is known without running the model: an int or float
// constant, or the one-element tensor constant a trace records for a Python number (`0.5 * x`
// traces as mul(x, {0.5})). Shared by the passes that match expressions with numbers in them.
#pragma once

#include <optional>

#include <torch/csrc/jit/ir/ir.h>

namespace llmc::passes {

std::optional<double> constant_number(const torch::jit::Value* v);

}  // namespace llmc::passes
