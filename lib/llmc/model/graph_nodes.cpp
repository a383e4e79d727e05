#include "llmc/model/graph_nodes.h"

#include <memory>

#include <torch/csrc/jit/runtime/graph_iterator.h>

namespace llmc::model {

std::vector<torch::jit::Node*> graph_nodes(const torch::jit::Graph& graph) {
  std::vector<torch::jit::Node*> out;
  const auto nodes = graph.block()->nodes();
  if (nodes.begin() == nodes.end()) return out;
  // The iterator reads the graph only (through a non-owning pointer to it).
  std::shared_ptr<torch::jit::Graph> g(std::shared_ptr<torch::jit::Graph>(),
                                       const_cast<torch::jit::Graph*>(&graph));
  torch::jit::DepthFirstGraphNodeIterator it(g);
  for (torch::jit::Node* n = it.next(); n != nullptr; n = it.next()) out.push_back(n);
  return out;
}

}  // namespace llmc::model
