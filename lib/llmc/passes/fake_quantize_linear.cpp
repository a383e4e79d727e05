#include "llmc/passes/fake_quantize_linear.h"

#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>
#include <torch/csrc/jit/ir/ir.h>

#include "llmc/model/graph_nodes.h"
#include "llmc/util/error.h"

namespace llmc::passes {

namespace {

using torch::jit::Graph;
using torch::jit::NamedValue;
using torch::jit::Node;
using torch::jit::Value;
using torch::jit::WithInsertPoint;

constexpr double kEps = std::numeric_limits<float>::epsilon();

std::string observer_name(const std::string& weight, const char* end) {
  return fmt::format("_fq_{}_{}", weight, end);
}

// The weight attribute a linear reads from `self` (the graph's first input), or "".
std::string weight_attribute(const Node* linear, const Graph& graph) {
  const Value* w = linear->input(1);
  const Node* get = w->node();
  if (get->kind() != c10::prim::GetAttr || graph.inputs().empty() ||
      get->input(0) != graph.inputs()[0]) {
    return "";
  }
  return get->s(c10::attr::name);
}

Value* fake_quantize_weight(Graph& g, Value* w, bool per_channel) {
  Value* a = g.insert(c10::aten::abs, {g.insert(c10::aten::detach, {w})});
  Value* amax = per_channel
                    ? g.insert(c10::aten::amax, {a, c10::IValue(c10::List<int64_t>({1})), false})
                    : g.insert(c10::aten::max, {a});
  Value* scale = g.insert(c10::aten::clamp_min, {g.insert(c10::aten::div, {amax, 127.5}), kEps});
  Value* zero = g.insert(c10::aten::zeros_like, {scale},
                         {NamedValue("dtype", static_cast<int64_t>(at::kInt))});
  if (per_channel) {
    return g.insert(c10::aten::fake_quantize_per_channel_affine,
                    {w, scale, zero, int64_t{0}, int64_t{-128}, int64_t{127}});
  }
  return g.insert(c10::aten::fake_quantize_per_tensor_affine,
                  {w, scale, zero, int64_t{-128}, int64_t{127}});
}

// The linear's input through the module's min/max observer, fake-quantized to uint8.
Value* fake_quantize_activation(Graph& g, Value* self, Value* x, const std::string& weight) {
  Value* xd = g.insert(c10::aten::detach, {x});
  auto attr = [&](const std::string& name) {
    Node* n = g.insertNode(g.createGetAttr(self, name));
    return n->output();
  };
  Value* c = attr("_fq_averaging");
  Value* lo = attr(observer_name(weight, "min"));
  Value* hi = attr(observer_name(weight, "max"));
  Value* new_lo = g.insert(c10::aten::lerp, {lo, g.insert(c10::aten::min, {xd}), c});
  Value* new_hi = g.insert(c10::aten::lerp, {hi, g.insert(c10::aten::max, {xd}), c});
  g.insert(c10::aten::copy_, {lo, new_lo});
  g.insert(c10::aten::copy_, {hi, new_hi});
  Value* min_neg = g.insert(c10::aten::clamp_max, {new_lo, 0.0});
  Value* max_pos = g.insert(c10::aten::clamp_min, {new_hi, 0.0});
  Value* scale = g.insert(
      c10::aten::clamp_min,
      {g.insert(c10::aten::div, {g.insert(c10::aten::sub, {max_pos, min_neg}), 255.0}), kEps});
  Value* zp = g.insert(c10::aten::neg, {g.insert(c10::aten::round,
                                                 {g.insert(c10::aten::div, {min_neg, scale})})});
  zp = g.insert(c10::aten::clamp, {zp, 0.0, 255.0});
  zp = g.insert(c10::aten::to, {zp, static_cast<int64_t>(at::kInt), false, false});
  return g.insert(c10::aten::fake_quantize_per_tensor_affine,
                  {x, scale, zp, int64_t{0}, int64_t{255}});
}

std::vector<Node*> linear_nodes(const Graph& graph) {
  std::vector<Node*> out;
  for (Node* n : model::graph_nodes(graph)) {
    if (n->kind() == c10::aten::linear) out.push_back(n);
  }
  return out;
}

}  // namespace

FakeQuantizeLinearResult fake_quantize_linear(torch::jit::Module& model,
                                              const FakeQuantizeLinearOptions& options) {
  LLMC_ASSERT(!options.activations || options.averaging.defined(),
              "fake_quantize_linear: activations need the averaging tensor");
  FakeQuantizeLinearResult result;
  // A type's methods are shared by its instances (scripted Linear layers of one shape): each
  // graph is rewritten once; every instance gets its own observer attributes.
  std::map<const Graph*, std::set<std::string>> done;
  for (const auto& sub : model.named_modules()) {
    torch::jit::Module m = sub.value;
    std::set<std::string> weights;  // the weight attributes this instance's graphs quantize
    for (const auto& method : m.get_methods()) {
      auto graph = method.graph();
      auto it = done.find(graph.get());
      if (it != done.end()) {
        weights.insert(it->second.begin(), it->second.end());
        continue;
      }
      std::set<std::string>& rewritten = done[graph.get()];
      const std::string where =
          fmt::format("{}.{}", sub.name.empty() ? "<root>" : sub.name, method.name());
      for (Node* linear : linear_nodes(*graph)) {
        const std::string w = weight_attribute(linear, *graph);
        if (w.empty()) {
          result.left.push_back({where, "aten::linear whose weight is not a tensor attribute of "
                                        "this module (a tied or computed weight)"});
          continue;
        }
        if (!m.hasattr(w) || !m.attr(w).isTensor() || m.attr(w).toTensor().dim() != 2 ||
            !m.attr(w).toTensor().is_floating_point()) {
          result.left.push_back({where, fmt::format("aten::linear on {}, not a 2-D float tensor", w)});
          continue;
        }
        WithInsertPoint guard(linear);
        linear->replaceInput(1, fake_quantize_weight(*graph, linear->input(1), options.per_channel));
        if (options.activations) {
          // The type must have the attributes the new GetAttr nodes read (each instance gets
          // its own values below).
          m.register_attribute("_fq_averaging", c10::TensorType::get(), options.averaging);
          for (const char* end : {"min", "max"}) {
            m.register_attribute(observer_name(w, end), c10::TensorType::get(), at::zeros({}));
          }
          linear->replaceInput(
              0, fake_quantize_activation(*graph, graph->inputs()[0], linear->input(0), w));
        }
        rewritten.insert(w);
        ++result.changed;
      }
      if (!rewritten.empty()) ++result.graphs_rewritten;
      weights.insert(rewritten.begin(), rewritten.end());
    }
    if (!weights.empty() && options.activations) {
      m.register_attribute("_fq_averaging", c10::TensorType::get(), options.averaging);
    }
    for (const auto& w : weights) {
      FakeQuantizedLinear layer;
      layer.module = sub.name;
      layer.weight = w;
      layer.weight_elements = m.attr(w).toTensor().numel();
      if (options.activations) {
        layer.act_min = at::zeros({}, at::kFloat);
        layer.act_max = at::zeros({}, at::kFloat);
        m.register_attribute(observer_name(w, "min"), c10::TensorType::get(), layer.act_min);
        m.register_attribute(observer_name(w, "max"), c10::TensorType::get(), layer.act_max);
      }
      result.layers.push_back(layer);
    }
  }
  return result;
}

}  // namespace llmc::passes
