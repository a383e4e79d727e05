#include "llmc/distill/module_outputs.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

#include "llmc/recipe/context.h"

namespace llmc::distill {

namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(path);
  while (std::getline(in, part, '.')) parts.push_back(part);
  return parts;
}

// The attribute names from the graph's `self` to `v` through prim::GetAttr nodes ("bert",
// "encoder", "layer", "11"), or nothing when `v` is not reached that way.
std::optional<std::vector<std::string>> attribute_chain(Value* v, const Value* self) {
  std::vector<std::string> names;
  while (v != self) {
    const Node* n = v->node();
    if (n->kind() != c10::prim::GetAttr) return std::nullopt;
    names.push_back(n->s(c10::attr::name));
    v = n->input(0);
  }
  std::reverse(names.begin(), names.end());
  return names;
}

bool is_forward_call(const Node* n) {
  return n->kind() == c10::prim::CallMethod && n->s(c10::attr::name) == "forward";
}

bool is_proper_prefix(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return a.size() < b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Whether a forward call of `path` sits in a nested block (an `if` or a loop of a scripted
// model), where its value cannot be returned from the graph.
bool called_in_nested_block(Graph& g, const std::vector<std::string>& path) {
  const Value* self = g.inputs().at(0);
  for (Node* n : torch::jit::findAllNodes(g, c10::prim::CallMethod, /*recurse=*/true)) {
    if (n->owningBlock() == g.block() || !is_forward_call(n)) continue;
    const auto chain = attribute_chain(n->input(0), self);
    if (chain && (*chain == path || is_proper_prefix(*chain, path))) return true;
  }
  return false;
}

// The value the forward call of `path` returns, in the top-level block of `g`; calls of the
// modules on the way (path's prefixes) are inlined until it appears there.
Value* call_output(Graph& g, const std::string& dotted, const std::vector<std::string>& path) {
  const Value* self = g.inputs().at(0);
  for (;;) {
    Node* exact = nullptr;
    Node* outer = nullptr;
    int exact_calls = 0;
    for (Node* n : g.nodes()) {
      if (!is_forward_call(n)) continue;
      const auto chain = attribute_chain(n->input(0), self);
      if (!chain) continue;
      if (*chain == path) {
        if (exact == nullptr) exact = n;
        ++exact_calls;
      } else if (outer == nullptr && is_proper_prefix(*chain, path)) {
        outer = n;
      }
    }
    if (exact_calls > 1) {
      throw ModuleOutputError(
          ModuleOutputError::Kind::not_called, dotted,
          fmt::format("module {} is called {} times in the forward pass; its output is not one "
                      "value (choose a module called once)",
                      dotted, exact_calls));
    }
    if (exact != nullptr) return exact->output();
    if (outer == nullptr) {
      throw ModuleOutputError(
          ModuleOutputError::Kind::not_called, dotted,
          called_in_nested_block(g, path)
              ? fmt::format("module {} is called inside control flow (an if or a loop of a "
                            "scripted model), where its output cannot be returned",
                            dotted)
              : fmt::format("module {} exists but the forward pass does not call its forward "
                            "where its output can be read (it may be unused, called through "
                            "another method, or inlined into its parent when the model was "
                            "exported)",
                            dotted));
    }
    // Replace the call of the enclosing module by its forward's body; its own submodule calls
    // now read GetAttr chains from our `self`.
    const auto cls = outer->input(0)->type()->cast<c10::ClassType>();
    if (!cls) {
      throw ModuleOutputError(ModuleOutputError::Kind::not_called, dotted,
                              fmt::format("the call on the way to {} is not a module call",
                                          dotted));
    }
    // The callee's own graph: inlineCallTo(node, fn) would take its optimized graph, in which
    // every nested call is inlined already and the module calls below are gone.
    auto& callee = torch::jit::toGraphFunction(cls->getMethod("forward"));
    torch::jit::inlineCallTo(outer, &callee, callee.graph().get());
  }
}

// `v`, or the first tensor of the tuple `v` (unpacked after its definition).
Value* first_tensor(Graph& g, Value* v, const std::string& dotted) {
  if (v->type()->isSubtypeOf(*c10::TensorType::get())) return v;
  if (const auto tuple = v->type()->cast<c10::TupleType>()) {
    const auto& elements = tuple->elements();
    for (size_t i = 0; i < elements.size(); ++i) {
      if (!elements[i]->isSubtypeOf(*c10::TensorType::get())) continue;
      torch::jit::WithInsertPoint guard(v->node()->next());
      Node* unpack = g.insertNode(g.createTupleUnpack(v));
      return unpack->output(i);
    }
  }
  throw ModuleOutputError(ModuleOutputError::Kind::not_tensor, dotted,
                          fmt::format("module {} returns {}, not a tensor or a tuple holding one",
                                      dotted, v->type()->repr_str()));
}

}  // namespace

std::vector<std::string> submodule_names(const torch::jit::Module& m) {
  std::vector<std::string> names;
  for (const auto& item : m.named_modules()) {
    if (!item.name.empty()) names.push_back(item.name);
  }
  return names;
}

std::vector<std::string> nearest_names(const std::string& path,
                                       const std::vector<std::string>& names, size_t limit) {
  std::vector<size_t> distance(names.size());
  for (size_t i = 0; i < names.size(); ++i) distance[i] = recipe::edit_distance(path, names[i]);
  std::vector<size_t> order(names.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return distance[a] < distance[b]; });
  std::vector<std::string> out;
  for (size_t i = 0; i < order.size() && i < limit; ++i) out.push_back(names[order[i]]);
  return out;
}

torch::jit::Module with_module_outputs(const torch::jit::Module& m,
                                       const std::vector<std::string>& paths) {
  const auto names = submodule_names(m);
  for (const auto& p : paths) {
    if (std::find(names.begin(), names.end(), p) == names.end()) {
      throw ModuleOutputError(ModuleOutputError::Kind::missing, p,
                              fmt::format("the model has no module {}", p),
                              nearest_names(p, names, 8));
    }
  }
  // inplace: the clone's parameters are m's tensors; its methods and types are copies, so
  // rewriting the clone's forward leaves m's untouched.
  torch::jit::Module variant = m.clone(/*inplace=*/true);
  auto& fn = torch::jit::toGraphFunction(variant.get_method("forward").function());
  const std::shared_ptr<Graph> g = fn.graph();
  const size_t own = g->outputs().size();
  // Outer modules first: finding a module nested in another inlines the outer one's call.
  std::vector<size_t> order(paths.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return split_path(paths[a]).size() < split_path(paths[b]).size();
  });
  for (size_t i : order) {
    Value* v = first_tensor(*g, call_output(*g, paths[i], split_path(paths[i])), paths[i]);
    // Registered at once: a later inlining that replaces the node defining it updates the
    // graph's outputs too.
    g->registerOutput(v);
  }
  std::vector<Value*> outputs(g->outputs().begin(), g->outputs().begin() + own);
  for (size_t i = 0; i < paths.size(); ++i) {
    const size_t at = static_cast<size_t>(std::find(order.begin(), order.end(), i) - order.begin());
    outputs.push_back(g->outputs()[own + at]);
  }
  for (size_t i = outputs.size(); i-- > 0;) g->eraseOutput(i);
  Node* tuple = g->insertNode(g->createTuple(outputs));
  g->registerOutput(tuple->output());
  fn.setSchema(fn.getSchema().cloneWithReturns({c10::Argument("", tuple->output()->type())}));
  return variant;
}

}  // namespace llmc::distill
