#include "llmc/passes/lowp_range_constants.h"

#include <cmath>
#include <limits>
#include <set>

#include <c10/util/BFloat16.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

namespace llmc::passes {

namespace {

using torch::jit::Node;
using torch::jit::Value;

const double kMax = static_cast<double>(std::numeric_limits<c10::BFloat16>::max());

bool beyond(double v) { return std::isfinite(v) && std::abs(v) > kMax; }

// The replacement for a constant input, or nullptr.
Value* clamped(torch::jit::Graph& graph, Value* v) {
  if (v->node()->kind() != c10::prim::Constant) return nullptr;
  const auto c = torch::jit::toIValue(v);
  if (!c) return nullptr;
  if (c->isDouble() && beyond(c->toDouble())) {
    return graph.insertConstant(std::copysign(kMax, c->toDouble()));
  }
  if (c->isTensor()) {
    const at::Tensor t = c->toTensor();
    if (t.dim() == 0 && t.is_floating_point() && beyond(t.item<double>())) {
      return graph.insertConstant(at::full({}, std::copysign(kMax, t.item<double>()), t.options()));
    }
  }
  return nullptr;
}

void rewrite(torch::jit::Block* block, torch::jit::Graph& graph, PassResult& r) {
  for (Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) rewrite(sub, graph, r);
    for (size_t i = 0; i < node->inputs().size(); ++i) {
      torch::jit::WithInsertPoint before(node);
      if (Value* c = clamped(graph, node->input(i))) {
        node->replaceInput(i, c);
        ++r.changed;
      }
    }
  }
}

}  // namespace

PassResult lowp_range_constants(torch::jit::Graph& graph) {
  PassResult r;
  rewrite(graph.block(), graph, r);
  return r;
}

PassResult lowp_range_constants(torch::jit::Module& module) {
  PassResult r;
  std::set<const c10::ClassType*> done;
  for (const auto& sub : module.modules()) {
    if (!done.insert(sub.type().get()).second) continue;
    for (torch::jit::Function* f : sub.type()->methods()) {
      auto* gf = dynamic_cast<torch::jit::GraphFunction*>(f);
      if (gf == nullptr) continue;
      auto graph = gf->graph();
      r += lowp_range_constants(*graph);
    }
  }
  return r;
}

}  // namespace llmc::passes
