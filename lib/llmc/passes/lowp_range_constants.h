// Pass lowp_range_constants: in a graph that computes in bfloat16, constant fill values beyond
// bfloat16's range become its extreme finite value. Hugging Face models mask attention with
// torch.finfo(torch.float32).min (-3.4028e38), which is below bfloat16's lowest finite value
// (-3.3895e38): masked_fill, where and full of a bf16 tensor with it fail in LibTorch ("value
// cannot be converted to type at::BFloat16 without overflow"), and arithmetic with it gives
// -inf and then NaN. What a model would write in bf16 (torch.finfo(torch.bfloat16).min) keeps the
// mask's meaning: such positions still get probability zero.
//
// Rewrites constant float scalars and 0-d float tensors with a finite magnitude above
// bfloat16's largest finite value; infinities are left as they are.
#pragma once

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// changed: the constants replaced.
PassResult lowp_range_constants(torch::jit::Graph& graph);

// The same on every method of `module` and its submodules (each class once): for a module that
// is trained or run under bf16 autocast (distill's bf16) rather than frozen into one graph.
PassResult lowp_range_constants(torch::jit::Module& module);

}  // namespace llmc::passes
