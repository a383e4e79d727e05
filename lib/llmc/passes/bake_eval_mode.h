// Pass bake_eval_mode: a model traced in training mode carries `train=True` as a constant in
// its dropout and batch-norm calls, so `.eval()` cannot switch them off and dropout stays
// active. This pass rewrites those constants to False in every method of every submodule,
// which is what eval mode means for them. Scripted models read self.training at run time and
// need no rewrite (their flags are not constants).
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

namespace llmc::passes {

struct BakeEvalModeResult {
  int dropout = 0;     // dropout-family calls switched to train=False
  int batch_norm = 0;  // batch_norm calls switched to training=False
  std::vector<std::string> sites;  // source locations (or node text) of what changed
  int total() const { return dropout + batch_norm; }
};

// Rewrites in place. With `dry_run` it only reports what it would change.
BakeEvalModeResult bake_eval_mode(torch::jit::Module& module, bool dry_run = false);

// The same on one graph (used by the module pass, and by tests that build graphs in code).
BakeEvalModeResult bake_eval_mode(torch::jit::Graph& graph, bool dry_run = false);

}  // namespace llmc::passes
