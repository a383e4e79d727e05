#include "llmc/prune/unstructured.h"

#include <cmath>

#include <fmt/format.h>

#include "llmc/prune/lowest_k.h"
#include "llmc/util/error.h"

namespace llmc::prune {

namespace {

at::Tensor weight_of(const model::NamedLayer& l) { return l.module.attr("weight").toTensor(); }

at::Tensor importance(const model::NamedLayer& l, const PruneOptions& o,
                      const std::map<std::string, InputStats>& stats) {
  const at::Tensor w = weight_of(l).detach().abs().to(at::kFloat);
  if (o.method == Method::magnitude) return w;
  const auto it = stats.find(l.name);
  if (it == stats.end()) {
    throw InputError("", fmt::format("method wanda: the calibration run saw no input of {} (its "
                                     "forward is not called as a module with its own weight, as "
                                     "in a traced tied lm_head); exclude it or use method "
                                     "magnitude",
                                     l.name));
  }
  return w * it->second.norm().to(at::kFloat).unsqueeze(0);
}

}  // namespace

double layer_target(const std::string& name, const PruneOptions& o) {
  if (o.n > 0) return 1.0 - static_cast<double>(o.n) / static_cast<double>(o.m);
  for (const auto& ov : o.overrides) {
    if (model::matches_any(name, {ov.layers})) return ov.sparsity;
  }
  return o.sparsity;
}

LayerSparsity measure_sparsity(const model::NamedLayer& layer, double target) {
  const at::Tensor w = weight_of(layer);
  LayerSparsity s;
  s.name = layer.name;
  s.shape = w.sizes().vec();
  s.numel = w.numel();
  // count_nonzero reduces in place; eq(0).sum() made a bool and an int64 copy of the weight
  // (196 MiB for a 32 000 x 768 output layer).
  s.zeros = s.numel - at::count_nonzero(w).item<int64_t>();
  s.target = target;
  return s;
}

std::vector<LayerSparsity> prune_unstructured(const std::vector<model::NamedLayer>& layers,
                                              const PruneOptions& o, double scale,
                                              const std::map<std::string, InputStats>& stats) {
  torch::NoGradGuard no_grad;
  // Local and N:M masks are made and applied one layer at a time, so only one layer's scores
  // and mask exist at once; the global threshold is found over scores computed a layer at a
  // time (prune/lowest_k.h: no sort, no copy of all the scores).
  const auto apply = [&](size_t i, const at::Tensor& drop) {
    weight_of(layers[i]).masked_fill_(drop, 0);
  };
  const auto fresh_mask = [&](size_t i) { return at::zeros(weight_of(layers[i]).sizes(), at::kBool); };

  if (o.n > 0) {
    for (size_t i = 0; i < layers.size(); ++i) {
      const at::Tensor w = weight_of(layers[i]);
      if (w.dim() != 2 || w.size(1) % o.m != 0) {
        throw InputError("", fmt::format("{}:{} pruning needs the input width of {} to be a "
                                         "multiple of {}; it is {}",
                                         o.n, o.m, layers[i].name, o.m, w.dim() == 2 ? w.size(1) : 0));
      }
      at::Tensor drop = fresh_mask(i);
      if (scale < 1.0) {
        // Gradual N:M: an unstructured step towards the pattern's sparsity first.
        const int64_t k = std::llround(scale * layer_target(layers[i].name, o) * static_cast<double>(w.size(1)));
        mark_lowest_per_row(importance(layers[i], o, stats), k, drop);
      } else {
        const at::Tensor scores = importance(layers[i], o, stats).reshape({w.size(0) * w.size(1) / o.m, o.m});
        at::Tensor groups = drop.view({-1, o.m});
        mark_lowest_per_row(scores, o.m - o.n, groups);
      }
      apply(i, drop);
    }
  } else if (o.scope == Scope::global) {
    int64_t total = 0;
    for (const auto& l : layers) total += weight_of(l).numel();
    const int64_t k = std::llround(scale * o.sparsity * static_cast<double>(total));
    if (k > 0) {
      const auto score = [&](int64_t i) { return importance(layers[i], o, stats); };
      LowestK t = lowest_k(static_cast<int64_t>(layers.size()), score, k);
      for (size_t i = 0; i < layers.size(); ++i) {
        at::Tensor drop = fresh_mask(i);
        mark_lowest(score(static_cast<int64_t>(i)), t, drop);
        apply(i, drop);
      }
    }
  } else {
    for (size_t i = 0; i < layers.size(); ++i) {
      const double target = scale * layer_target(layers[i].name, o);
      const at::Tensor scores = importance(layers[i], o, stats);
      at::Tensor drop = fresh_mask(i);
      if (o.per_row() && scores.dim() == 2) {
        mark_lowest_per_row(scores, std::llround(target * static_cast<double>(scores.size(1))), drop);
      } else if (const int64_t k = std::llround(target * static_cast<double>(scores.numel())); k > 0) {
        LowestK t = lowest_k(1, [&](int64_t) { return scores; }, k);
        mark_lowest(scores, t, drop);
      }
      apply(i, drop);
    }
  }

  std::vector<LayerSparsity> out;
  for (const auto& l : layers) out.push_back(measure_sparsity(l, layer_target(l.name, o)));
  return out;
}

}  // namespace llmc::prune
