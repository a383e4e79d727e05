#include "llmc/prune/unstructured.h"

#include <cmath>

#include <fmt/format.h>

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

// Zeroes the `k` lowest entries of each row of `scores` in `mask` (rows = dim 0 of a 2-D view).
void drop_lowest_per_row(const at::Tensor& scores, at::Tensor& mask, int64_t k) {
  if (k <= 0) return;
  const auto idx = std::get<1>(at::topk(scores, k, 1, /*largest=*/false, /*sorted=*/false));
  mask.scatter_(1, idx, 0.0);
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
  s.zeros = w.eq(0).sum().item<int64_t>();
  s.target = target;
  return s;
}

std::vector<LayerSparsity> prune_unstructured(const std::vector<model::NamedLayer>& layers,
                                              const PruneOptions& o, double scale,
                                              const std::map<std::string, InputStats>& stats) {
  torch::NoGradGuard no_grad;
  // Local and N:M masks are made and applied one layer at a time, so only one layer's mask and
  // scores exist at once (all the masks together were as large as the pruned weights).
  const auto apply = [&](size_t i, const at::Tensor& mask) {
    at::Tensor w = weight_of(layers[i]);
    w.mul_(mask.to(w.scalar_type()));
  };
  const auto fresh_mask = [&](size_t i) { return at::ones_like(weight_of(layers[i]), at::kFloat); };

  if (o.n > 0) {
    for (size_t i = 0; i < layers.size(); ++i) {
      const at::Tensor w = weight_of(layers[i]);
      if (w.dim() != 2 || w.size(1) % o.m != 0) {
        throw InputError("", fmt::format("{}:{} pruning needs the input width of {} to be a "
                                         "multiple of {}; it is {}",
                                         o.n, o.m, layers[i].name, o.m, w.dim() == 2 ? w.size(1) : 0));
      }
      at::Tensor mask = fresh_mask(i);
      if (scale < 1.0) {
        // Gradual N:M: an unstructured step towards the pattern's sparsity first.
        const int64_t k = std::llround(scale * layer_target(layers[i].name, o) * static_cast<double>(w.size(1)));
        drop_lowest_per_row(importance(layers[i], o, stats), mask, k);
      } else {
        const at::Tensor scores = importance(layers[i], o, stats).reshape({w.size(0) * w.size(1) / o.m, o.m});
        at::Tensor m = mask.view({-1, o.m});
        drop_lowest_per_row(scores, m, o.m - o.n);
      }
      apply(i, mask);
    }
  } else if (o.scope == Scope::global) {
    std::vector<at::Tensor> flat;
    int64_t total = 0;
    for (const auto& l : layers) {
      flat.push_back(importance(l, o, stats).flatten());
      total += flat.back().numel();
    }
    const int64_t k = std::llround(scale * o.sparsity * static_cast<double>(total));
    if (k > 0) {
      const at::Tensor all = at::cat(flat);
      const auto idx = std::get<1>(at::topk(all, k, 0, /*largest=*/false, /*sorted=*/false));
      at::Tensor keep = at::ones({total}, at::kFloat);
      keep.index_fill_(0, idx, 0.0);
      int64_t offset = 0;
      for (size_t i = 0; i < layers.size(); ++i) {
        const int64_t n = flat[i].numel();
        apply(i, keep.narrow(0, offset, n).reshape(weight_of(layers[i]).sizes()));
        offset += n;
      }
    }
  } else {
    for (size_t i = 0; i < layers.size(); ++i) {
      const double target = scale * layer_target(layers[i].name, o);
      const at::Tensor scores = importance(layers[i], o, stats);
      at::Tensor mask = fresh_mask(i);
      if (o.per_row() && scores.dim() == 2) {
        drop_lowest_per_row(scores, mask, std::llround(target * static_cast<double>(scores.size(1))));
      } else {
        const int64_t k = std::llround(target * static_cast<double>(scores.numel()));
        at::Tensor m = mask.view({1, -1});
        drop_lowest_per_row(scores.reshape({1, -1}), m, k);
      }
      apply(i, mask);
    }
  }

  std::vector<LayerSparsity> out;
  for (const auto& l : layers) out.push_back(measure_sparsity(l, layer_target(l.name, o)));
  return out;
}

}  // namespace llmc::prune
