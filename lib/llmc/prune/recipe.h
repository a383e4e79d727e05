// The `prune:` section of a recipe: which Linear layers, how much, by which importance
// (magnitude or Wanda), in which pattern (unstructured or N:M), and structured removal of
// feed-forward neurons and attention heads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llmc/recipe/common.h"
#include "llmc/recipe/schema.h"

namespace llmc::prune {

enum class Method { magnitude, wanda };
enum class Scope { local, global };
enum class Importance { weight, activation };
// Which weights compete for removal in local scope: each output row's (the Wanda paper's
// choice) or the whole layer's; auto: row for wanda, layer for magnitude.
enum class Comparison { automatic, row, layer };

// A per-glob sparsity (local scope): layers matching `layers` get `sparsity` instead.
struct Override {
  std::string layers;
  double sparsity = 0;
  recipe::Origin origin;
};

// Remove whole units, so tensors really shrink.
struct StructuredOptions {
  double ffn = 0;    // fraction of feed-forward intermediate neurons removed in each block
  double heads = 0;  // fraction of attention heads removed in each attention layer
  double channels = 0;  // fraction of Conv2d output channels removed in each conv layer
  Importance importance = Importance::weight;
};

struct PruneOptions {
  Method method = Method::magnitude;
  double sparsity = 0;  // unstructured: fraction of the selected weights set to zero
  Scope scope = Scope::local;
  Comparison comparison = Comparison::automatic;
  bool per_row() const {
    return comparison == Comparison::row ||
           (comparison == Comparison::automatic && method == Method::wanda);
  }
  std::string pattern = "unstructured";  // or "N:M", e.g. "2:4"
  std::vector<std::string> include = {"*"};
  std::vector<std::string> exclude;
  std::vector<Override> overrides;
  StructuredOptions structured;
  int64_t calibration_batches = 8;
  // Where calibration batches come from; default: the first batches of the recipe's `data`.
  std::optional<recipe::DataSpec> calibration_data;
  int64_t steps = 1;
  bool optimize_attention = true;  // passes::optimize_attention after pruning
  bool fuse_gelu = true;           // passes::fuse_tanh_gelu after pruning
  recipe::Origin origin;

  // Parsed pattern: 0 for unstructured.
  int64_t n = 0;
  int64_t m = 0;
  bool unstructured() const { return sparsity > 0 || n > 0; }
  bool structured_any() const {
    return structured.ffn > 0 || structured.heads > 0 || structured.channels > 0;
  }
  bool needs_activations() const {
    return method == Method::wanda ||
           (structured_any() && structured.importance == Importance::activation);
  }
};

struct PruneRecipe {
  recipe::CommonRecipe common;
  PruneOptions prune;
};

recipe::Section<PruneRecipe> prune_schema();
PruneRecipe parse_prune_recipe(const std::string& path, const std::vector<std::string>& sets);
// The same for a document that did not come from its own file (`name` stands for it).
PruneRecipe parse_prune_document(const std::string& name, YAML::Node root,
                                 const std::vector<std::string>& sets);

}  // namespace llmc::prune
