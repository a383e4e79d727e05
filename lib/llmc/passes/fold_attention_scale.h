// Pass fold_attention_scale: attention code divides its scores by √d_head on every call
// (`matmul(q, kᵀ) / math.sqrt(self.head_dim)`, or `q / math.sqrt(d)` before the product). The
// division is folded into the weight and bias of the Linear that produces q (or k): the graph
// loses an elementwise pass over the batch × heads × seq × seq scores, and the model computes the
// same function. With a power-of-two divisor (d_head 16, 64, 256) the result is bit-identical;
// otherwise it differs by float rounding.
//
// It rewrites a module type's forward where `aten::div(X, c)` has a divisor `c` known without
// running the model (a constant, a number attribute of the module, sqrt/pow/float of those) and
// `X` comes, through single-use view-like ops, matmul operands and view-only helper methods of
// the same module (such as HF's transpose_for_scores), from the call of a Linear submodule that
// nothing else calls. Each instance of the type gets its own divisor folded into its own Linear.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

struct FoldedScale {
  std::string module;  // the module whose forward divided, e.g. "bert.encoder.layer.0.attention.self"
  std::string linear;  // its Linear submodule that now carries the scale, e.g. "query"
  double divisor = 1;
  bool exact = false;  // divisor is a power of two: bit-identical outputs
};

// changed: Linear layers that now carry their module's scale, named ("module.linear") in
// `sites`; folded: each with its divisor.
struct FoldAttentionScaleResult : PassResult {
  std::vector<FoldedScale> folded;
};

// Rewrites `model` (its types and weights) in place; call it on a clone.
FoldAttentionScaleResult fold_attention_scale(torch::jit::Module& model);


}  // namespace llmc::passes
