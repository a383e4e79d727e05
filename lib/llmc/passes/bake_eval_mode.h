// Pass bake_eval_mode: a model traced in training mode carries `train=True` as a constant in
// its dropout and batch-norm calls, so `.eval()` cannot switch them off and dropout stays
// active. This pass rewrites those constants to False in every method of every submodule,
// which is what eval mode means for them. Scripted models read self.training at run time and
// need no rewrite (their flags are not constants).
#pragma once

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// changed = dropout + batch_norm; sites: the calls' source locations (node_site).
struct BakeEvalModeResult : PassResult {
  int64_t dropout = 0;     // dropout-family calls switched to train=False
  int64_t batch_norm = 0;  // batch_norm calls switched to training=False
};

// Rewrites in place. With `dry_run` it only reports what it would change.
BakeEvalModeResult bake_eval_mode(torch::jit::Module& module, bool dry_run = false);

// The same on one graph (used by the module pass, and by tests that build graphs in code).
BakeEvalModeResult bake_eval_mode(torch::jit::Graph& graph, bool dry_run = false);

}  // namespace llmc::passes
