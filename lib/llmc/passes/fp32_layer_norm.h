// Pass fp32_layer_norm: in a graph whose weights were cast to a 16-bit float type, every
// aten::layer_norm normalizes in float32: its input is cast to float32, its constant weight and
// bias become float32 constants (exactly the 16-bit values, widened), and the result is cast back
// to the input's dtype. LibTorch 1.13's CPU layer_norm has no vectorized bfloat16 kernel: on the
// benchmark encoder (batch 16 x 128, hidden 256) one bf16 layer_norm took 3.2 ms, the float32 one
// 0.37 ms and each cast 0.15 ms. It is also the more accurate way (PyTorch's CPU autocast keeps
// layer_norm in float32). A layer_norm whose input already is float32 computes as before: the
// casts are then no-ops.
#pragma once

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// changed: layer_norm nodes now computing in float32; left: those whose weight or bias is not a
// constant (reason kNotConstant). One this pass rewrote already (float32 cast in, float32
// constants) is not counted again.
PassResult fp32_layer_norm(torch::jit::Graph& graph);

extern const char* const kNotConstant;

}  // namespace llmc::passes
