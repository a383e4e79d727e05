// The nodes of a graph in one list, for read-only walks.
#pragma once

#include <vector>

#include <torch/csrc/jit/ir/ir.h>

namespace llmc::model {

// Every node of `graph`, the nodes of nested blocks (prim::If, prim::Loop, prim::With) included,
// depth first in program order, as LibTorch's DepthFirstGraphNodeIterator hands them out (which,
// on a graph without nodes, would hand out the graph's Return and Param nodes: here, none).
// For walks that only read; a pass that rewrites as it walks keeps its own loop.
std::vector<torch::jit::Node*> graph_nodes(const torch::jit::Graph& graph);

}  // namespace llmc::model
