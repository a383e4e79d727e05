// `llmc eval-freeze`: eval mode (dropout and batch-norm become deterministic), freeze (weights
// and attributes become constants, submodule calls inlined), optionally optimize for inference;
// then verify determinism and equivalence with the original in eval mode.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

#include "llmc/freeze/recipe.h"
#include "llmc/job/job.h"

namespace llmc::freeze {

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
