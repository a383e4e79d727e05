// Pass conv1d_to_linear: GPT-2's Conv1D layers (transformers.pytorch_utils.Conv1D: a weight of
// [in, out] used as `addmm(self.bias, x.view(-1, in), self.weight)`) become Linear layers in
// all but name: the weight is stored transposed, [out, in], and the addmm becomes
// `aten::linear(x, self.weight, self.bias)`. Same outputs; LibTorch's quantization passes, the
// pruning methods and model::linear_layers then treat them as the matrix layers they are, and
// include/exclude globs still select them by their module names (`*.attn.c_attn`).
//
// Found by what the layer computes, not by its class name: any submodule whose forward calls
// addmm with its own `bias` and 2-D `weight` (beta = alpha = 1). A layer whose weight shares
// storage with another tensor of the model (tied) is left alone and listed in `left`.
#pragma once

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// changed: layers converted, named (module names) in `sites`; left: tied layers by module name.
PassResult conv1d_to_linear(torch::jit::Module& model);

}  // namespace llmc::passes
