// model::graph_nodes: every node of a graph, nested blocks included, depth first in program
// order; none for a graph without nodes (where LibTorch's iterator hands out Return and Param).
#include "torch_doctest.h"
#include <torch/csrc/jit/ir/irparser.h>
#include <torch/script.h>

#include <string>
#include <vector>

#include "llmc/model/graph_nodes.h"

namespace {

std::shared_ptr<torch::jit::Graph> parse(const std::string& ir) {
  auto g = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(ir, g.get());
  return g;
}

std::vector<std::string> kinds(const torch::jit::Graph& g) {
  std::vector<std::string> out;
  for (const auto* n : llmc::model::graph_nodes(g)) out.push_back(n->kind().toQualString());
  return out;
}

}  // namespace

TEST_CASE("graph_nodes: nested If and Loop blocks, depth first in program order") {
  const auto g = parse(R"IR(
graph(%x : Tensor, %c : bool, %n : int):
  %a : Tensor = aten::relu(%x)
  %y : Tensor = prim::If(%c)
    block0():
      %t : Tensor = aten::tanh(%a)
      -> (%t)
    block1():
      %s : Tensor = aten::sigmoid(%a)
      -> (%s)
  %z : Tensor = prim::Loop(%n, %c, %y)
    block0(%i : int, %acc : Tensor):
      %e : Tensor = aten::exp(%acc)
      -> (%c, %e)
  %out : Tensor = aten::neg(%z)
  return (%out)
)IR");
  CHECK(kinds(*g) == std::vector<std::string>{"aten::relu", "prim::If", "aten::tanh",
                                              "aten::sigmoid", "prim::Loop", "aten::exp",
                                              "aten::neg"});
}

TEST_CASE("graph_nodes: an If with an empty branch, and a graph without nodes") {
  const auto g = parse(R"IR(
graph(%x : Tensor, %c : bool):
  prim::If(%c)
    block0():
      -> ()
    block1():
      %s : Tensor = aten::sigmoid(%x)
      -> ()
  return (%x)
)IR");
  CHECK(kinds(*g) == std::vector<std::string>{"prim::If", "aten::sigmoid"});
  const auto empty = parse(R"IR(
graph(%x : Tensor):
  return (%x)
)IR");
  CHECK(kinds(*empty).empty());
}
