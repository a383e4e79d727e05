// Pass fp32_rms_norm: as fp32_layer_norm does for aten::layer_norm, every RMSNorm of a graph
// whose weights were cast to a 16-bit float type normalizes in float32. RMSNorm has no operator
// of its own in LibTorch 1.13; it is the expression `x * rsqrt(mean(x², -1, keepdim) + eps)`
// (LLaMA, Mistral, T5; x² as pow(x, 2) or x * x). Its x is cast to float32 where the expression
// reads it, and the product back to x's dtype. Hugging Face's LlamaRMSNorm already casts to
// float32 itself (`hidden_states.to(torch.float32)`): such a norm is counted as already float32
// and left alone.
#pragma once

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// changed: RMSNorm expressions now computing in float32; left: those whose x already was a cast
// to float32 (HF's code, or this pass's own on a second run; reason kAlreadyFloat32).
PassResult fp32_rms_norm(torch::jit::Graph& graph);

extern const char* const kAlreadyFloat32;

}  // namespace llmc::passes
