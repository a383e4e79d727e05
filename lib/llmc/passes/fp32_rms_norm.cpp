#include "llmc/passes/fp32_rms_norm.h"

#include <optional>
#include <vector>

#include <torch/csrc/jit/ir/ir.h>

#include "llmc/passes/constant_number.h"

namespace llmc::passes {

namespace {

using torch::jit::Node;
using torch::jit::Value;

// x² as pow(x, 2) or mul(x, x): x, or null.
Value* squared(Node* n) {
  if (n->kind() == c10::aten::pow && n->inputs().size() == 2 && constant_number(n->input(1)) == 2.0) {
    return n->input(0);
  }
  if (n->kind() == c10::aten::mul && n->inputs().size() == 2 && n->input(0) == n->input(1)) {
    return n->input(0);
  }
  return nullptr;
}

// The dims [-1]: a constant list, or (unfrozen graphs) a ListConstruct of the constant -1.
bool last_dim_only(const Value* dims) {
  if (const auto list = torch::jit::toIValue(dims)) {
    return list->isIntList() && list->toIntList().size() == 1 && list->toIntList()[0] == -1;
  }
  const Node* n = dims->node();
  return n->kind() == c10::prim::ListConstruct && n->inputs().size() == 1 &&
         constant_number(n->input(0)) == -1.0;
}

// mean(x², [-1], keepdim=True, dtype=None): the x² node, or null.
Node* mean_of_square_last_dim(Node* mean) {
  if (mean->kind() != c10::aten::mean || mean->inputs().size() != 4) return nullptr;
  if (!last_dim_only(mean->input(1))) return nullptr;
  const auto keep = torch::jit::toIValue(mean->input(2));
  if (!keep || !keep->isBool() || !keep->toBool()) return nullptr;
  if (!mean->input(3)->type()->cast<c10::NoneType>()) return nullptr;
  Node* sq = mean->input(0)->node();
  return squared(sq) ? sq : nullptr;
}

// x produced by a cast to float32 (`x.to(torch.float32)` / `x.float()`).
bool already_float32(const Value* x) {
  const Node* n = x->node();
  if (n->kind() != c10::aten::to || n->inputs().size() < 2) return false;
  const auto dtype = torch::jit::toIValue(n->input(1));
  return dtype && dtype->isInt() && dtype->toInt() == static_cast<int64_t>(at::kFloat);
}

struct Match {
  Node* square;
  Node* product;  // x * rsqrt(...)
  Value* x;
};

std::optional<Match> match(Node* rsqrt) {
  if (rsqrt->kind() != c10::aten::rsqrt || rsqrt->inputs().size() != 1) return std::nullopt;
  Node* add = rsqrt->input(0)->node();
  if (add->kind() != c10::aten::add || add->inputs().size() != 3) return std::nullopt;
  Node* square = nullptr;
  for (int i = 0; i < 2 && !square; ++i) {
    if (constant_number(add->input(1 - i))) square = mean_of_square_last_dim(add->input(i)->node());
  }
  if (!square) return std::nullopt;
  Value* x = squared(square);
  for (const auto& use : rsqrt->output()->uses()) {
    Node* mul = use.user;
    if (mul->kind() != c10::aten::mul || mul->inputs().size() != 2) continue;
    const Value* other = mul->input(0) == rsqrt->output() ? mul->input(1) : mul->input(0);
    if (other == x) return Match{square, mul, x};
  }
  return std::nullopt;
}

void rewrite(torch::jit::Block* block, torch::jit::Graph& graph, PassResult& result) {
  std::vector<Node*> rsqrts;
  for (Node* node : block->nodes()) {
    for (torch::jit::Block* sub : node->blocks()) rewrite(sub, graph, result);
    if (node->kind() == c10::aten::rsqrt) rsqrts.push_back(node);
  }
  for (Node* rsqrt : rsqrts) {
    const auto m = match(rsqrt);
    if (!m || m->square->owningBlock() != block || m->product->owningBlock() != block) continue;
    if (already_float32(m->x)) {
      result.left.push_back({node_site(rsqrt), kAlreadyFloat32});
      continue;
    }
    torch::jit::WithInsertPoint before(m->square);
    Value* dtype = graph.insert(c10::prim::dtype, {m->x});
    Value* wide = graph.insert(c10::aten::to, {m->x, c10::IValue(static_cast<int64_t>(at::kFloat)),
                                               false, false, c10::IValue()});
    for (Node* n : {m->square, m->product}) {
      for (size_t i = 0; i < n->inputs().size(); ++i) {
        if (n->input(i) == m->x) n->replaceInput(i, wide);
      }
    }
    torch::jit::WithInsertPoint after(m->product->next());
    Value* out = m->product->output();
    Value* back = graph.insert(c10::aten::to, {out, dtype, false, false, c10::IValue()});
    out->replaceAllUsesAfterNodeWith(back->node(), back);
    ++result.changed;
  }
}

}  // namespace

const char* const kAlreadyFloat32 = "its x is already cast to float32";

PassResult fp32_rms_norm(torch::jit::Graph& graph) {
  PassResult result;
  rewrite(graph.block(), graph, result);
  return result;
}

}  // namespace llmc::passes
