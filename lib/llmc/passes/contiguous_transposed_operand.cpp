#include "llmc/passes/contiguous_transposed_operand.h"

#include <torch/csrc/jit/ir/ir.h>

namespace llmc::passes {

namespace {

using torch::jit::Node;
using torch::jit::Value;

// transpose(x, a, b) swapping the last two dimensions: (-1, -2) or (-2, -1).
bool swaps_last_two(const Node* transpose) {
  const auto a = torch::jit::constant_as<int64_t>(transpose->input(1));
  const auto b = torch::jit::constant_as<int64_t>(transpose->input(2));
  return a && b && std::min(*a, *b) == -2 && std::max(*a, *b) == -1;
}

int rewrite(torch::jit::Block* block, torch::jit::Graph& graph) {
  int n = 0;
  for (Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) n += rewrite(sub, graph);
    if (node->kind() != c10::aten::matmul || node->inputs().size() != 2) continue;
    for (size_t i = 0; i < 2; ++i) {
      Node* t = node->input(i)->node();
      if (t->kind() != c10::aten::transpose || t->inputs().size() != 3 || !swaps_last_two(t)) continue;
      Value* x = t->input(0);
      if (x->node()->kind() == c10::aten::contiguous) continue;  // already done
      if (x->node()->kind() == c10::prim::Constant || x->node()->kind() == c10::prim::GetAttr) {
        continue;  // a weight: leave its layout alone
      }
      torch::jit::WithInsertPoint before(t);
      Value* contiguous = graph.insert(c10::aten::contiguous, {x});
      t->replaceInput(0, contiguous);
      ++n;
    }
  }
  return n;
}

}  // namespace

PassResult contiguous_transposed_operand(torch::jit::Graph& graph) {
  PassResult r;
  r.changed = rewrite(graph.block(), graph);
  return r;
}

}  // namespace llmc::passes
