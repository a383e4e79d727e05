// Pass decompose_sdpa: every aten::scaled_dot_product_attention call (PyTorch 2.x archives,
// registered by model/newer_ops.h) becomes the eager attention it stands for, in LibTorch 1.13's
// own operators:
//
//   scores = matmul(q, transpose(k, -2, -1)) * scale     (scale None: / sqrt(size(q, -1)))
//   scores = scores + mask                                (float mask)
//          | masked_fill(scores, logical_not(mask), -inf) (boolean mask)
//          | masked_fill(scores, logical_not(tril(ones(L, S))), -inf)   (is_causal)
//   out    = matmul(softmax(scores, -1), v)               (dropout_p > 0: dropout on the probs)
//
// with enable_gqa's key/value heads repeated by repeat_interleave(·, Hq / Hkv, -3). Every later
// pass (attention rewrites, bf16 products, head pruning, ONNX lowering) then sees attention as it
// sees an eager model's, and the artifacts load without llmc.
//
// A mask's dtype is not in a loaded graph's types: it is read off the ops that make it,
// following the value across method calls (traced models pass the mask down as an argument) and
// into module attributes. Where that finds nothing, the call gets both forms under a prim::If on
// the mask's dtype, which is correct but which the ONNX exporter cannot lower (it then says so).
#pragma once

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// changed: calls replaced; left: calls kept (non-constant is_causal / enable_gqa / dropout_p),
// each with its source (the first 120 characters, or "forward").
struct DecomposeSdpaResult : PassResult {
  int64_t mask_dtype_unknown = 0;  // of the calls replaced, those with the prim::If on the mask's dtype
};

// Every method of `module` and of its submodules.
DecomposeSdpaResult decompose_sdpa(torch::jit::Module& module);
// One graph; graph inputs' mask dtypes are unknown here.
DecomposeSdpaResult decompose_sdpa(torch::jit::Graph& graph);

}  // namespace llmc::passes
