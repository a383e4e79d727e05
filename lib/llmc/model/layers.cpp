#include "llmc/model/layers.h"

#include <fnmatch.h>

#include <torch/csrc/jit/api/function_impl.h>

namespace llmc::model {

bool matches_any(const std::string& name, const std::vector<std::string>& globs) {
  for (const auto& g : globs) {
    if (fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

bool selected(const std::string& name, const std::vector<std::string>& include,
              const std::vector<std::string>& exclude) {
  return matches_any(name, include) && !matches_any(name, exclude);
}

namespace {

// Its forward calls aten::linear on `self.weight` (a Conv1D after passes::conv1d_to_linear).
bool computes_linear_on_own_weight(const torch::jit::Module& m) {
  torch::jit::Function* f = m.type()->findMethod("forward");
  auto* gf = f ? dynamic_cast<torch::jit::GraphFunction*>(f) : nullptr;
  if (gf == nullptr) return false;
  const auto graph = gf->graph();
  for (const torch::jit::Node* n : graph->nodes()) {
    if (n->kind() != c10::aten::linear || n->inputs().size() < 2) continue;
    const torch::jit::Node* w = n->input(1)->node();
    if (w->kind() == c10::prim::GetAttr && w->s(c10::attr::name) == "weight" &&
        w->input(0) == graph->inputs().at(0)) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool is_linear(const torch::jit::Module& m) {
  const auto type_name = m.type()->name();
  if (!type_name || !m.hasattr("weight")) return false;
  const std::string q = type_name->qualifiedName();
  if (q.size() >= 7 && q.compare(q.size() - 7, 7, ".Linear") == 0) return true;
  const c10::IValue w = m.attr("weight");
  return w.isTensor() && w.toTensor().dim() == 2 && computes_linear_on_own_weight(m);
}

std::vector<NamedLayer> linear_layers(const torch::jit::Module& model) {
  std::vector<NamedLayer> out;
  for (const auto& sub : model.named_modules()) {
    if (!sub.name.empty() && is_linear(sub.value)) out.push_back({sub.name, sub.value});
  }
  return out;
}

std::string tied_weight(const torch::jit::Module& model, const NamedLayer& layer) {
  const c10::IValue w = layer.module.attr("weight");
  if (!w.isTensor()) return "";
  const at::Tensor& weight = w.toTensor();
  const void* storage = weight.storage().data();
  const std::string own = layer.name + ".weight";
  std::string copy;
  auto same = [&](const std::string& name, const at::Tensor& t) {
    if (name == own || !t.defined()) return false;
    if (t.storage().data() == storage) return true;
    if (copy.empty() && t.sizes() == weight.sizes() && t.scalar_type() == weight.scalar_type() &&
        at::equal(t, weight) && t.ne(0).any().item<bool>()) {
      copy = name;
    }
    return false;
  };
  for (const auto& p : model.named_parameters(true)) {
    if (same(p.name, p.value)) return p.name;
  }
  for (const auto& b : model.named_buffers(true)) {
    if (same(b.name, b.value)) return b.name;
  }
  return copy;
}

bool is_lstm(const torch::jit::Module& m) {
  const std::string type = m.type()->name() ? m.type()->name()->qualifiedName() : "";
  const std::string suffix = ".LSTM";
  return type.size() > suffix.size() &&
         type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         (m.hasattr("_flat_weights") || m.hasattr("weight_ih_l0"));
}

std::vector<NamedLayer> lstm_layers(const torch::jit::Module& model) {
  std::vector<NamedLayer> out;
  for (const auto& sub : model.named_modules()) {
    if (!sub.name.empty() && is_lstm(sub.value)) out.push_back({sub.name, sub.value});
  }
  return out;
}

}  // namespace llmc::model
