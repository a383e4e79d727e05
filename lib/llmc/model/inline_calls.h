// Inlines every method and function call of a graph from the callees' current graphs.
// torch::jit::Inline inlines a callee's *optimized* graph, a copy LibTorch caches at its first
// use: after llmc rewrote a method in place (conv1d_to_linear, decompose_sdpa, structured
// pruning's width constants), Inline could still read the graph from before the rewrite.
#pragma once

#include <torch/script.h>

namespace llmc::model {

void inline_calls(torch::jit::Graph& graph);

}  // namespace llmc::model
