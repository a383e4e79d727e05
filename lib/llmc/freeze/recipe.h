// The `eval_freeze:` section of a recipe: what freezing keeps, the optional
// optimize_for_inference, the fix for models traced in training mode, GELU fusion and how many
// runs must be bitwise identical.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "llmc/recipe/common.h"
#include "llmc/recipe/schema.h"

namespace llmc::freeze {

struct EvalFreezeOptions {
  std::vector<std::string> preserve;   // methods or attributes kept through freezing
  bool optimize_for_inference = false;  // torch::jit::optimize_for_inference after freezing
  bool fix_traced_training = true;     // run bake_eval_mode on train=True constants
  bool fuse_gelu = true;               // passes::fuse_tanh_gelu on the frozen graph
  int64_t determinism_runs = 3;        // repeated runs of the artifact that must be identical
  recipe::Origin origin;
};

struct EvalFreezeRecipe {
  recipe::CommonRecipe common;
  EvalFreezeOptions eval_freeze;
};

recipe::Section<EvalFreezeRecipe> eval_freeze_schema();
EvalFreezeRecipe parse_eval_freeze_recipe(const std::string& path,
                                          const std::vector<std::string>& sets);

}  // namespace llmc::freeze
