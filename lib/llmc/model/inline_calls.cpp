#include "llmc/model/inline_calls.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

namespace llmc::model {

namespace {

// One call of the block (or of a nested block) inlined; false when none is left.
bool inline_one(torch::jit::Block* block) {
  for (torch::jit::Node* n : block->nodes()) {
    for (torch::jit::Block* b : n->blocks()) {
      if (inline_one(b)) return true;
    }
    torch::jit::Function* callee = nullptr;
    if (n->kind() == c10::prim::CallMethod) {
      if (const auto cls = n->input(0)->type()->cast<c10::ClassType>()) {
        callee = cls->findMethod(n->s(c10::attr::name));
      }
    } else if (n->kind() == c10::prim::CallFunction) {
      if (const auto fn = n->input(0)->type()->cast<c10::FunctionType>()) callee = fn->function();
    }
    auto* graph_function = callee ? dynamic_cast<torch::jit::GraphFunction*>(callee) : nullptr;
    if (graph_function == nullptr) continue;
    if (n->kind() == c10::prim::CallFunction) {
      // The function value is an input of the call, not of the callee.
      torch::jit::Value* fn = n->input(0);
      n->removeInput(0);
      torch::jit::inlineCallTo(n, graph_function, /*use_graph=*/true);
      if (!fn->hasUses() && fn->node()->kind() == c10::prim::Constant) fn->node()->destroy();
    } else {
      torch::jit::inlineCallTo(n, graph_function, /*use_graph=*/true);
    }
    return true;
  }
  return false;
}

}  // namespace

void inline_calls(torch::jit::Graph& graph) {
  while (inline_one(graph.block())) {
  }
}

}  // namespace llmc::model
