#include "llmc/passes/fold_attention_scale.h"

#include <cmath>
#include <map>
#include <optional>
#include <set>

#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>

#include "llmc/model/graph_nodes.h"
#include "llmc/model/inline_calls.h"

namespace llmc::passes {

namespace {

using torch::jit::Graph;
using torch::jit::Module;
using torch::jit::Node;
using torch::jit::Value;

bool is_view_like(const Node* node) {
  static const std::set<c10::Symbol> kinds = {c10::aten::view,      c10::aten::reshape,
                                              c10::aten::permute,   c10::aten::transpose,
                                              c10::aten::contiguous, c10::aten::t};
  return kinds.count(node->kind()) > 0;
}

bool is_self(const Value* v) {
  return v->node()->kind() == c10::prim::Param && v->offset() == 0;
}

// The value of a number the graph computes from constants and the instance's attributes.
std::optional<double> static_number(const Value* v, const Module& instance) {
  const Node* node = v->node();
  if (node->kind() == c10::prim::Constant) {
    const auto iv = torch::jit::toIValue(v);
    if (iv && iv->isDouble()) return iv->toDouble();
    if (iv && iv->isInt()) return static_cast<double>(iv->toInt());
    return std::nullopt;
  }
  if (node->kind() == c10::prim::GetAttr && is_self(node->input(0))) {
    const std::string name = node->s(c10::attr::name);
    if (!instance.hasattr(name)) return std::nullopt;
    const c10::IValue a = instance.attr(name);
    if (a.isDouble()) return a.toDouble();
    if (a.isInt()) return static_cast<double>(a.toInt());
    return std::nullopt;
  }
  if ((node->kind() == c10::aten::sqrt || node->kind() == c10::aten::Float) &&
      node->inputs().size() == 1) {
    const auto x = static_number(node->input(0), instance);
    if (!x) return std::nullopt;
    return node->kind() == c10::aten::sqrt ? std::sqrt(*x) : *x;
  }
  if (node->inputs().size() == 2 &&
      (node->kind() == c10::aten::pow || node->kind() == c10::aten::floordiv ||
       node->kind() == c10::aten::mul || node->kind() == c10::aten::div)) {
    // Numbers only (a tensor operand is run-time data): e.g. DistilBERT's
    // math.sqrt(self.dim // self.n_heads).
    for (const Value* in : node->inputs()) {
      if (in->type()->kind() != c10::TypeKind::IntType &&
          in->type()->kind() != c10::TypeKind::FloatType) {
        return std::nullopt;
      }
    }
    const auto x = static_number(node->input(0), instance);
    const auto y = static_number(node->input(1), instance);
    if (!x || !y) return std::nullopt;
    if (node->kind() == c10::aten::pow) return std::pow(*x, *y);
    if (node->kind() == c10::aten::mul) return *x * *y;
    if (*y == 0) return std::nullopt;
    return node->kind() == c10::aten::div ? *x / *y : std::floor(*x / *y);
  }
  return std::nullopt;
}

bool is_linear_module(const Module& m) {
  if (!m.hasattr("weight") || !m.hasattr("bias") || !m.find_method("forward")) return false;
  const c10::IValue w = m.attr("weight");
  if (!w.isTensor() || w.toTensor().dim() != 2) return false;
  for (const auto* node : m.get_method("forward").graph()->nodes()) {
    if (node->kind() == c10::aten::linear) return true;
  }
  return false;
}

// Index of the method argument that `method`'s tensor output is a view-like transform of, or -1.
int view_only_argument(const Module& instance, const std::string& method) {
  const auto m = instance.find_method(method);
  if (!m) return -1;
  auto graph = m->graph()->copy();
  llmc::model::inline_calls(*graph);
  if (graph->outputs().size() != 1) return -1;
  const Value* v = graph->outputs()[0];
  while (is_view_like(v->node())) v = v->node()->input(0);
  if (v->node()->kind() != c10::prim::Param || v->offset() == 0) return -1;
  return static_cast<int>(v->offset());
}

// The attribute names of the Linear submodules whose calls produce `x` through single-use,
// scale-preserving steps (for a product, one per operand), in operand order.
void source_linears(const Value* x, const Module& instance, std::vector<std::string>& found) {
  for (int depth = 0; depth < 32; ++depth) {
    if (x->uses().size() != 1) return;
    const Node* node = x->node();
    if (is_view_like(node)) {
      x = node->input(0);
      continue;
    }
    if (node->kind() == c10::aten::matmul) {
      // A product scales with either operand: q first, then k.
      for (size_t i = 0; i < 2; ++i) source_linears(node->input(i), instance, found);
      return;
    }
    if (node->kind() != c10::prim::CallMethod) return;
    const std::string method = node->s(c10::attr::name);
    const Value* target = node->input(0);
    if (is_self(target)) {
      const int arg = view_only_argument(instance, method);
      if (arg <= 0 || static_cast<size_t>(arg) >= node->inputs().size()) return;
      x = node->input(static_cast<size_t>(arg));
      continue;
    }
    if (method != "forward" || target->node()->kind() != c10::prim::GetAttr ||
        !is_self(target->node()->input(0))) {
      return;
    }
    const std::string name = target->node()->s(c10::attr::name);
    const c10::IValue sub = instance.attr(name);
    if (sub.isModule() && is_linear_module(Module(sub.toObject()))) found.push_back(name);
    return;
  }
}

// How many times any method of `instance`'s type reads attribute `name` of self.
int attribute_reads(const Module& instance, const std::string& name) {
  int n = 0;
  for (const auto& method : instance.get_methods()) {
    for (const Node* node : model::graph_nodes(*method.graph())) {
      if (node->kind() == c10::prim::GetAttr && is_self(node->input(0)) &&
          node->s(c10::attr::name) == name) {
        ++n;
      }
    }
  }
  return n;
}

bool power_of_two(double d) {
  int e = 0;
  return d > 0 && std::frexp(d, &e) == 0.5;
}

}  // namespace

FoldAttentionScaleResult fold_attention_scale(Module& model) {
  // Instances by type: the forward graph belongs to the type, the weights to each instance.
  std::map<const c10::ClassType*, std::vector<std::pair<std::string, Module>>> instances;
  for (const auto& m : model.named_modules()) {
    instances[m.value.type().get()].emplace_back(m.name, m.value);
  }
  // Storage of every parameter, to refuse a Linear whose weight is shared with another name.
  std::map<const void*, int> storage_uses;
  for (const auto& p : model.named_parameters(true)) ++storage_uses[p.value.data_ptr()];

  FoldAttentionScaleResult result;
  torch::NoGradGuard no_grad;
  for (auto& [type, mods] : instances) {
    const Module& first = mods.front().second;
    if (!first.find_method("forward")) continue;
    std::shared_ptr<Graph> graph = first.get_method("forward").graph();
    std::vector<Node*> divisions;
    for (Node* node : graph->nodes()) {
      if (node->kind() == c10::aten::div && node->inputs().size() == 2 &&
          node->input(1)->type()->kind() != c10::TypeKind::TensorType) {
        divisions.push_back(node);
      }
    }
    for (Node* div : divisions) {
      std::vector<std::string> candidates;
      source_linears(div->input(0), first, candidates);
      std::string linear;
      for (const auto& c : candidates) {
        if (attribute_reads(first, c) == 1) {
          linear = c;
          break;
        }
      }
      if (linear.empty()) continue;
      // Every instance must give a usable divisor and an unshared Linear before any changes.
      std::vector<std::pair<Module, double>> plan;
      for (const auto& [name, instance] : mods) {
        const auto c = static_number(div->input(1), instance);
        const Module lin(instance.attr(linear).toObject());
        if (!c || !std::isfinite(*c) || *c == 0 || !is_linear_module(lin) ||
            storage_uses[lin.attr("weight").toTensor().data_ptr()] != 1) {
          plan.clear();
          break;
        }
        plan.emplace_back(lin, *c);
      }
      if (plan.size() != mods.size()) continue;
      for (size_t i = 0; i < plan.size(); ++i) {
        auto& [lin, c] = plan[i];
        lin.attr("weight").toTensor().div_(c);
        const c10::IValue bias = lin.attr("bias");
        if (bias.isTensor() && bias.toTensor().defined()) bias.toTensor().div_(c);
        result.folded.push_back({mods[i].first, linear, c, power_of_two(c)});
        result.sites.push_back(mods[i].first.empty() ? linear : mods[i].first + "." + linear);
        ++result.changed;
      }
      div->output()->replaceAllUsesWith(div->input(0));
      div->destroy();
    }
    if (!divisions.empty()) torch::jit::EliminateDeadCode(graph);
  }
  return result;
}

}  // namespace llmc::passes
