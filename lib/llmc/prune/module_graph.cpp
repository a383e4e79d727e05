#include "llmc/prune/module_graph.h"

#include <set>

#include <fmt/format.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/constant_propagation.h>

#include "llmc/model/graph_nodes.h"
#include "llmc/model/inline_calls.h"

namespace llmc::prune::detail {

using torch::jit::Node;
using torch::jit::Value;

std::shared_ptr<torch::jit::Graph> inlined_forward(const torch::jit::Module& model) {
  auto graph = model.get_method("forward").graph()->copy();
  llmc::model::inline_calls(*graph);
  // Branches on constants (F.relu's `inplace`) folded, so scripted and traced models show the
  // same data flow.
  torch::jit::ConstantPropagation(graph);
  return graph;
}

void for_each_node(const torch::jit::Graph& graph, const std::function<void(Node*)>& f) {
  for (Node* n : model::graph_nodes(graph)) f(n);
}

bool is_elementwise(const Node* n) {
  static const std::set<std::string> kinds = {
      "aten::gelu", "aten::relu", "aten::relu_", "aten::silu", "aten::tanh", "aten::sigmoid",
      "aten::dropout", "aten::hardtanh", "aten::leaky_relu", "aten::elu", "aten::mish",
      "aten::hardswish"};
  return kinds.count(n->kind().toQualString()) > 0;
}

torch::jit::Module submodule(const torch::jit::Module& root, const std::string& path) {
  torch::jit::Module m = root;
  size_t start = 0;
  while (start < path.size()) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    m = m.attr(part).toModule();
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return m;
}

std::vector<int64_t> constant_ints(const Value* v) {
  if (const auto c = torch::jit::toIValue(v); c && c->isIntList()) return c->toIntVector();
  std::vector<int64_t> out;
  if (v->node()->kind() != c10::prim::ListConstruct) return out;
  for (const Value* item : v->node()->inputs()) {
    const auto c = torch::jit::toIValue(item);
    if (!c || !c->isInt()) return {};
    out.push_back(c->toInt());
  }
  return out;
}

std::string join_path(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

at::Tensor param(const torch::jit::Module& m, const char* name) {
  if (!m.hasattr(name)) return at::Tensor();
  const auto v = m.attr(name);
  return v.isTensor() ? v.toTensor() : at::Tensor();
}

std::shared_ptr<torch::jit::Graph> own_forward(const torch::jit::Module& m) {
  torch::jit::Function* f = m.type()->findMethod("forward");
  auto* gf = f ? dynamic_cast<torch::jit::GraphFunction*>(f) : nullptr;
  return gf ? gf->graph() : nullptr;
}

std::pair<int64_t, int64_t> last_two(const Node* view) {
  const Node* list = view->input(1)->node();
  if (list->kind() != c10::prim::ListConstruct || list->inputs().size() < 2) return {0, 0};
  const auto a = torch::jit::toIValue(list->inputs()[list->inputs().size() - 2]);
  const auto b = torch::jit::toIValue(list->inputs().back());
  if (!a || !b || !a->isInt() || !b->isInt()) return {0, 0};
  return {a->toInt(), b->toInt()};
}

std::string unrecognised_attention(const torch::jit::Module& model) {
  std::vector<std::string> why;
  for (const auto& sub : model.named_modules()) {
    const auto& m = sub.value;
    if (m.hasattr("c_attn") && m.attr("c_attn").isModule()) {
      why.push_back(sub.name + " (a fused c_attn projection whose output is not split in "
                               "thirds and viewed as [..., heads, head_dim])");
    } else if ((m.hasattr("q_proj") && m.hasattr("k_proj")) ||
               (m.hasattr("query") && m.hasattr("key"))) {
      why.push_back(sub.name + " (no head count found: neither an attribute nor views of "
                               "[..., heads, head_dim] or [..., -1, head_dim] after the "
                               "projections)");
    }
    if (why.size() == 3) break;
  }
  if (why.empty()) return "";
  return fmt::format("; not recognised: {}", fmt::join(why, ", "));
}

}  // namespace llmc::prune::detail
