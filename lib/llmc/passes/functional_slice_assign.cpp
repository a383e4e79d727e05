#include "llmc/passes/functional_slice_assign.h"

#include <limits>
#include <optional>
#include <set>
#include <string>

#include <torch/csrc/jit/ir/ir.h>

namespace llmc::passes {

namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

std::optional<int64_t> int_constant(const Value* v) {
  const auto c = torch::jit::toIValue(v);
  if (!c) return std::nullopt;
  if (c->isInt()) return c->toInt();
  return std::nullopt;
}

// slice(self, dim, start, end, step) keeping the whole dimension.
bool whole(const Node* slice) {
  const auto start = torch::jit::toIValue(slice->input(2));
  const auto end = torch::jit::toIValue(slice->input(3));
  const bool from_zero = start && (start->isNone() || (start->isInt() && start->toInt() == 0));
  const bool to_end = end && (end->isNone() || (end->isInt() && end->toInt() >= (int64_t{1} << 62)));
  return from_zero && to_end;
}

bool is_view(const Node* n) {
  static const std::set<std::string> views = {
      "aten::slice", "aten::select", "aten::view", "aten::reshape", "aten::expand",
      "aten::expand_as", "aten::transpose", "aten::permute", "aten::unsqueeze", "aten::squeeze",
      "aten::narrow", "aten::as_strided", "aten::t", "aten::unbind", "aten::split",
      "aten::chunk", "aten::view_as", "aten::flatten", "aten::detach", "aten::alias"};
  return views.count(n->kind().toQualString()) > 0;
}

bool used_after(const Value* v, const Node* n) {
  for (const auto& use : v->uses()) {
    if (n->isBefore(use.user)) return true;
  }
  return false;
}

// Rewrites one copy_; nullptr when done, else why it was left alone.
const char* rewrite(Node* copy) {
  if (copy->outputs().at(0)->hasUses()) return "the copy_'s result is used";
  Value* view = copy->input(0);
  Value* src = copy->input(1);
  std::vector<Node*> chain;  // from the copy_ back to the base
  Value* v = view;
  while (v->node()->kind() == c10::aten::slice && v->node()->inputs().size() == 5) {
    Node* s = v->node();
    if (v->uses().size() != 1 || int_constant(s->input(4)).value_or(0) != 1 ||
        !int_constant(s->input(1))) {
      return "a slice of the chain has other uses, a step other than 1 or a non-constant dimension";
    }
    chain.push_back(s);
    v = s->input(0);
  }
  if (chain.empty()) return "not a copy into a slice";
  Value* base = v;
  Node* narrowing = nullptr;
  for (Node* s : chain) {
    if (whole(s)) continue;
    if (narrowing != nullptr && *int_constant(s->input(1)) != *int_constant(narrowing->input(1))) {
      return "the chain narrows more than one dimension";
    }
    if (narrowing != nullptr) return "two narrowing slices of one dimension";
    narrowing = s;
  }
  // Another view of the base that is read after the copy_ would see the mutation.
  for (const auto& use : base->uses()) {
    if (use.user == chain.back() || !use.user->isBefore(copy) || !is_view(use.user)) continue;
    for (const Value* out : use.user->outputs()) {
      if (used_after(out, copy)) return "another view of the base is read after the copy_";
    }
  }
  Graph& g = *copy->owningGraph();
  torch::jit::WithInsertPoint before(copy);
  Value* typed = g.insert(c10::aten::type_as, {src, base});
  Value* filled = g.insert(c10::aten::expand_as, {typed, view});
  Value* result = filled;
  if (narrowing != nullptr) {
    Value* dim = narrowing->input(1);
    Value* zero = g.insertConstant(int64_t{0});
    Value* one = g.insertConstant(int64_t{1});
    Value* end = g.insertConstant(std::numeric_limits<int64_t>::max());
    Value* start = narrowing->input(2);
    Value* stop = narrowing->input(3);
    if (torch::jit::toIValue(start) && torch::jit::toIValue(start)->isNone()) start = zero;
    if (torch::jit::toIValue(stop) && torch::jit::toIValue(stop)->isNone()) stop = end;
    Value* left = g.insert(c10::aten::slice, {base, dim, zero, start, one});
    Value* right = g.insert(c10::aten::slice, {base, dim, stop, end, one});
    Value* pieces = g.insertNode(g.createList(c10::TensorType::get(), {left, filled, right}))->output();
    result = g.insert(c10::aten::cat, {pieces, dim});
  }
  result->setType(base->type());
  base->replaceAllUsesAfterNodeWith(copy, result);
  copy->destroy();
  for (Node* s : chain) {
    if (!s->output()->hasUses()) s->destroy();
  }
  return nullptr;
}

}  // namespace

PassResult functional_slice_assign(Graph& graph) {
  PassResult result;
  std::vector<Node*> copies;
  for (Node* n : graph.nodes()) {
    if (n->kind() == c10::aten::copy_ && n->inputs().size() >= 2) copies.push_back(n);
  }
  for (Node* n : copies) {
    const std::string site = node_site(n);  // before rewrite() destroys it
    if (const char* why = rewrite(n)) {
      result.left.push_back({site, why});
    } else {
      ++result.changed;
    }
  }
  return result;
}

}  // namespace llmc::passes
