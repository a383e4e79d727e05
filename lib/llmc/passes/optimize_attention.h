// The exact attention rewrites `prune` and `quantize` apply (recipe key `optimize_attention`,
// on by default): fold_attention_scale, then contiguous_transposed_operand on every method of
// every module type of the model. Both keep the function; neither needs inputs.
#pragma once

#include <vector>

#include <torch/script.h>

#include "llmc/passes/fold_attention_scale.h"

namespace llmc::passes {

// changed = scale_folded.size() + contiguous_transposed_operands; sites: the Linear layers
// that carry a scale.
struct AttentionRewrites : PassResult {
  std::vector<FoldedScale> scale_folded;
  int64_t contiguous_transposed_operands = 0;
};

// Rewrites `model` (its types and weights) in place; call it on a clone.
AttentionRewrites optimize_attention(torch::jit::Module& model);


// The recipe key's description, shared by the subcommands that have it.
extern const char* const kOptimizeAttentionHelp;

}  // namespace llmc::passes
