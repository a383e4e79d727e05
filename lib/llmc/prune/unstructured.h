// Unstructured and N:M pruning of Linear weights: the least important weights are set to zero
// in place. Importance is |W| (magnitude) or |W| x ||X_j||_2 (Wanda: the norm of input feature j
// over the calibration data; compared within each output row, as the Wanda paper does).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "llmc/model/layers.h"
#include "llmc/prune/capture.h"
#include "llmc/prune/recipe.h"

namespace llmc::prune {

struct LayerSparsity {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel = 0;
  int64_t zeros = 0;
  double target = 0;
  double sparsity() const { return numel ? static_cast<double>(zeros) / static_cast<double>(numel) : 0; }
};

// The sparsity a layer aims at: its first matching override, else options.sparsity; for an N:M
// pattern 1 - N/M.
double layer_target(const std::string& name, const PruneOptions& o);

// Prunes `layers` to `scale` x their targets (scale < 1 for the early steps of gradual
// pruning). `stats` holds input statistics of each layer for Wanda (may be empty otherwise).
// InputError naming the layer when an N:M pattern does not divide its input width.
std::vector<LayerSparsity> prune_unstructured(const std::vector<model::NamedLayer>& layers,
                                              const PruneOptions& o, double scale,
                                              const std::map<std::string, InputStats>& stats);

// Zeros of each layer's weight now.
LayerSparsity measure_sparsity(const model::NamedLayer& layer, double target);

}  // namespace llmc::prune
