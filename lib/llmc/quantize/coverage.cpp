#include "llmc/quantize/coverage.h"

#include <set>

#include <fmt/format.h>

#include "llmc/util/log.h"

namespace llmc::quantize {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

double share(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

}  // namespace

MatrixCoverage matrix_coverage(const torch::jit::Module& model, const std::vector<LayerPlan>& plan) {
  MatrixCoverage c;
  std::set<std::string> layer_names;
  std::set<const void*> layer_storages;
  for (const auto& l : plan) layer_names.insert(l.name);
  // Modules whose 2-D tensors are accounted for: the planned layers and embedding tables.
  std::set<std::string> owners;
  for (const auto& sub : model.named_modules()) {
    const std::string type = sub.value.type()->name() ? sub.value.type()->name()->qualifiedName() : "";
    if (layer_names.count(sub.name) || ends_with(type, ".Embedding") ||
        ends_with(type, ".EmbeddingBag")) {
      owners.insert(sub.name);
    }
    if (!layer_names.count(sub.name)) continue;
    for (const auto& p : sub.value.named_parameters(false)) {
      if (p.value.dim() < 2 || !p.value.is_floating_point()) continue;
      layer_storages.insert(p.value.storage().data());
      const int64_t n = p.value.numel();
      c.weights_found += n;
      for (const auto& l : plan) {
        if (l.name == sub.name && l.quantize) c.weights_quantized += n;
      }
    }
  }
  for (const auto& l : plan) {
    ++c.layers_found;
    if (l.quantize) ++c.layers_quantized;
  }
  std::set<const void*> seen;
  for (const auto& p : model.named_parameters(true)) {
    if (!p.value.is_floating_point() || !seen.insert(p.value.storage().data()).second) continue;
    c.parameters += p.value.numel();
    if (p.value.dim() != 2 || layer_storages.count(p.value.storage().data())) continue;
    const auto dot = p.name.rfind('.');
    const std::string owner = dot == std::string::npos ? "" : p.name.substr(0, dot);
    if (owners.count(owner)) continue;
    c.left.push_back(fmt::format("{} [{}x{}]", p.name, p.value.size(0), p.value.size(1)));
    c.left_elements += p.value.numel();
  }
  return c;
}

void report_coverage(const MatrixCoverage& c, util::Json& details, std::vector<std::string>& warnings) {
  util::Json m = util::Json::object();
  m["found"] = c.layers_found;
  m["quantized"] = c.layers_quantized;
  m["quantized_weight_share"] = share(c.weights_quantized, c.weights_found);
  m["share_of_parameters"] = share(c.weights_quantized, c.parameters);
  util::Json left = util::Json::array();
  for (const auto& l : c.left) left.push_back(l);
  m["left_float32"] = left;
  details["matrix_layers"] = m;
  log::info("quantized {} of {} matrix layers, {:.1f} % of their weights ({:.1f} % of all "
            "parameters)",
            c.layers_quantized, c.layers_found, 100.0 * share(c.weights_quantized, c.weights_found),
            100.0 * share(c.weights_quantized, c.parameters));
  if (!c.left.empty()) {
    warnings.push_back(fmt::format(
        "{} 2-D weights ({:.1f} % of all parameters) belong to no Linear, Conv1D or LSTM layer "
        "llmc quantizes and stay float32: {}{}",
        c.left.size(), 100.0 * share(c.left_elements, c.parameters),
        fmt::join(c.left.begin(), c.left.begin() + std::min<size_t>(c.left.size(), 8), ", "),
        c.left.size() > 8 ? ", ..." : ""));
  }
}

}  // namespace llmc::quantize
