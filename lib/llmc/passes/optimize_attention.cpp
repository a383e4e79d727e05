#include "llmc/passes/optimize_attention.h"

#include <set>
#include <utility>

#include "llmc/passes/contiguous_transposed_operand.h"

namespace llmc::passes {

const char* const kOptimizeAttentionHelp =
    "exact rewrites of attention code for inference: the division of the scores by √d_head "
    "folded into the query Linear's weights (fold_attention_scale), and transposed matmul "
    "operands made contiguous before their transpose (contiguous_transposed_operand); the same "
    "function, bit-identical when √d_head is a power of two";

AttentionRewrites optimize_attention(torch::jit::Module& model) {
  AttentionRewrites r;
  FoldAttentionScaleResult folded = fold_attention_scale(model);
  r.scale_folded = std::move(folded.folded);
  r += folded;
  // Method graphs belong to module types: rewrite each type's once.
  std::set<const torch::jit::Graph*> done;
  for (const auto& m : model.modules()) {
    for (const auto& method : m.get_methods()) {
      auto graph = method.graph();
      if (!done.insert(graph.get()).second) continue;
      const PassResult c = contiguous_transposed_operand(*graph);
      r.contiguous_transposed_operands += c.changed;
      r += c;
    }
  }
  return r;
}

}  // namespace llmc::passes
