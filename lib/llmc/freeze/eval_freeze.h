// `llmc eval-freeze`: eval mode (dropout and batch-norm become deterministic), freeze (weights
// and attributes become constants, submodule calls inlined), optionally optimize for inference;
// then verify determinism and equivalence with the original in eval mode.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/job/job.h"
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

// The transform on its own: eval + bake_eval_mode + freeze (+ optimize). Throws RecipeError
// (at the recipe's eval_freeze section) for a preserved name the model does not have.
// No tensor is copied (a large model is not held twice): the reference is a clone of `model`'s
// modules and methods that shares its tensors (the bake_eval_mode rewrites and eval mode apply to
// the clone; `model` is left as it was), and the frozen module shares them too (freezing folds
// them into constants without copying) except where a frozen-graph optimization computed new
// ones (conv/batch-norm folding, concatenated linears).
struct FreezeOutcome {
  torch::jit::Module frozen;
  torch::jit::Module reference;  // the original in eval mode, with the same flag rewrites
  util::Json details = util::Json::object();
  std::vector<std::string> warnings;
};
FreezeOutcome eval_freeze(const torch::jit::Module& model, const EvalFreezeOptions& options);

job::Job eval_freeze_job(const EvalFreezeOptions& options);

}  // namespace llmc::freeze
