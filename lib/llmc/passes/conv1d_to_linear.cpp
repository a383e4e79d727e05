#include "llmc/passes/conv1d_to_linear.h"

#include <map>
#include <set>

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

namespace llmc::passes {

namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

// `self.<name>` read directly off the graph's module input.
bool is_own_attribute(const Value* v, const Graph& g, const char* name) {
  const Node* n = v->node();
  return n->kind() == c10::prim::GetAttr && n->s(c10::attr::name) == name &&
         n->input(0) == g.inputs().at(0);
}

bool is_one(const Value* v) {
  const auto c = torch::jit::toIValue(v);
  if (!c) return false;
  if (c->isInt()) return c->toInt() == 1;
  if (c->isDouble()) return c->toDouble() == 1.0;
  return false;
}

// addmm(self.bias, x, self.weight, beta=1, alpha=1) nodes of a forward graph.
std::vector<Node*> conv1d_calls(Graph& g) {
  std::vector<Node*> out;
  for (Node* n : g.nodes()) {
    if (n->kind() != c10::aten::addmm || n->inputs().size() != 5) continue;
    if (is_own_attribute(n->input(0), g, "bias") && is_own_attribute(n->input(2), g, "weight") &&
        is_one(n->input(3)) && is_one(n->input(4))) {
      out.push_back(n);
    }
  }
  return out;
}

std::shared_ptr<Graph> forward_graph(const torch::jit::Module& m) {
  torch::jit::Function* f = m.type()->findMethod("forward");
  auto* gf = f ? dynamic_cast<torch::jit::GraphFunction*>(f) : nullptr;
  return gf ? gf->graph() : nullptr;
}

}  // namespace

PassResult conv1d_to_linear(torch::jit::Module& model) {
  PassResult result;
  // Candidates by class type (scripted instances of one class share a forward graph).
  std::map<const c10::ClassType*, std::vector<torch::jit::NameModule>> by_type;
  for (const auto& sub : model.named_modules()) {
    if (sub.name.empty() || !sub.value.hasattr("weight") || !sub.value.hasattr("bias")) continue;
    const c10::IValue w = sub.value.attr("weight");
    const c10::IValue b = sub.value.attr("bias");
    if (!w.isTensor() || !b.isTensor() || w.toTensor().dim() != 2 || b.toTensor().dim() != 1 ||
        b.toTensor().size(0) != w.toTensor().size(1)) {
      continue;
    }
    const auto g = forward_graph(sub.value);
    if (!g || conv1d_calls(*g).empty()) continue;
    by_type[sub.value.type().get()].push_back(sub);
  }
  if (by_type.empty()) return result;
  // Storage of every other tensor, for ties.
  std::multiset<const void*> storages;
  for (const auto& p : model.named_parameters(true)) storages.insert(p.value.storage().data());
  for (const auto& b : model.named_buffers(true)) storages.insert(b.value.storage().data());
  for (auto& [type, subs] : by_type) {
    bool tied = false;
    for (const auto& sub : subs) {
      if (storages.count(sub.value.attr("weight").toTensor().storage().data()) > 1) {
        result.left.push_back({sub.name, "its weight is tied to another tensor of the model"});
        tied = true;
      }
    }
    if (tied) continue;
    const auto g = forward_graph(subs.front().value);
    for (Node* n : conv1d_calls(*g)) {
      torch::jit::WithInsertPoint before(n);
      Value* linear = g->insert(c10::aten::linear, {n->input(1), n->input(2), n->input(0)});
      linear->setType(n->output()->type());
      n->output()->replaceAllUsesWith(linear);
      n->destroy();
    }
    for (auto& sub : subs) {
      const at::Tensor w = sub.value.attr("weight").toTensor();
      at::Tensor t = w.detach().t().contiguous();
      t.set_requires_grad(w.requires_grad());
      sub.value.register_parameter("weight", t, false);
      result.sites.push_back(sub.name);
      ++result.changed;
    }
  }
  return result;
}

}  // namespace llmc::passes
