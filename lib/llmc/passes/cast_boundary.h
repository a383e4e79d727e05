// Pass cast_boundary: for a model whose weights were cast to a lower-precision float type, cast
// the graph's floating-point tensor inputs to that type and its floating-point tensor outputs
// (direct or inside a returned tuple) back to float32, so the artifact is a drop-in
// replacement for the fp32 model. Which inputs are floating point is given by the caller (from
// the measurement inputs), since TorchScript graph inputs are untyped `Tensor`s. An input that
// is only read by a cast to the type, and an output that is a cast to float32, are left as they
// are (a second run changes nothing).
#pragma once

#include <vector>

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// changed = inputs_cast + outputs_cast.
struct CastBoundaryResult : PassResult {
  int64_t inputs_cast = 0;
  int64_t outputs_cast = 0;
};

// `float_inputs[i]` tells whether forward argument i (after self) is a floating-point tensor.
CastBoundaryResult cast_boundary(torch::jit::Graph& graph, at::ScalarType compute_type,
                                 const std::vector<bool>& float_inputs);

}  // namespace llmc::passes
