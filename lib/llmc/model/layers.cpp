#include "llmc/model/layers.h"

#include <fnmatch.h>

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

bool is_linear(const torch::jit::Module& m) {
  const auto type_name = m.type()->name();
  if (!type_name) return false;
  const std::string q = type_name->qualifiedName();
  return q.size() >= 7 && q.compare(q.size() - 7, 7, ".Linear") == 0 && m.hasattr("weight");
}

std::vector<NamedLayer> linear_layers(const torch::jit::Module& model) {
  std::vector<NamedLayer> out;
  for (const auto& sub : model.named_modules()) {
    if (!sub.name.empty() && is_linear(sub.value)) out.push_back({sub.name, sub.value});
  }
  return out;
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
