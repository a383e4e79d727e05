// bake_eval_mode on graphs built in code: what it rewrites, and what it must leave alone.
#include "torch_doctest.h"
#include <torch/csrc/jit/ir/irparser.h>
#include <torch/script.h>

#include "llmc/passes/bake_eval_mode.h"

namespace {

std::shared_ptr<torch::jit::Graph> parse(const std::string& ir) {
  auto g = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(ir, g.get());
  return g;
}

int count_constant_flags(const torch::jit::Graph& g, bool value) {
  int n = 0;
  for (const auto* node : g.nodes()) {
    const std::string kind = node->kind().toQualString();
    const int index = kind == "aten::batch_norm" ? 5 : kind.find("dropout") != std::string::npos ? 2 : -1;
    if (index < 0) continue;
    const auto v = torch::jit::toIValue(node->inputs()[index]);
    if (v && v->isBool() && v->toBool() == value) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("train=True constants of dropout and batch_norm are switched to eval") {
  auto g = parse(R"IR(
graph(%x : Tensor, %w : Tensor, %b : Tensor, %m : Tensor, %v : Tensor):
  %t : bool = prim::Constant[value=1]()
  %p : float = prim::Constant[value=0.1]()
  %e : float = prim::Constant[value=1e-05]()
  %y : Tensor = aten::dropout(%x, %p, %t)
  %z : Tensor = aten::feature_dropout(%y, %p, %t)
  %n : Tensor = aten::batch_norm(%z, %w, %b, %m, %v, %t, %p, %e, %t)
  %s : Tensor = aten::relu(%n)
  return (%s))IR");
  const auto r = llmc::passes::bake_eval_mode(*g);
  CHECK(r.dropout == 2);
  CHECK(r.batch_norm == 1);
  CHECK(r.changed == 3);
  CHECK(r.sites.size() == 3);
  CHECK(count_constant_flags(*g, true) == 0);
  CHECK(count_constant_flags(*g, false) == 3);
  // The shared True constant still feeds cudnn_enabled: only the training inputs changed.
  bool cudnn_flag_kept = false;
  for (const auto* node : g->nodes()) {
    if (node->kind().toQualString() == std::string("aten::batch_norm")) {
      cudnn_flag_kept = torch::jit::toIValue(node->inputs()[8])->toBool();
    }
  }
  CHECK(cudnn_flag_kept);
}

TEST_CASE("must not rewrite: eval flags, flags read at run time, dry runs") {
  SUBCASE("already eval") {
    auto g = parse(R"IR(
graph(%x : Tensor):
  %f : bool = prim::Constant[value=0]()
  %p : float = prim::Constant[value=0.1]()
  %y : Tensor = aten::dropout(%x, %p, %f)
  return (%y))IR");
    CHECK(llmc::passes::bake_eval_mode(*g).changed == 0);
  }
  SUBCASE("training flag is a graph input (as self.training is in scripted models)") {
    auto g = parse(R"IR(
graph(%x : Tensor, %training : bool):
  %p : float = prim::Constant[value=0.1]()
  %y : Tensor = aten::dropout(%x, %p, %training)
  return (%y))IR");
    CHECK(llmc::passes::bake_eval_mode(*g).changed == 0);
    CHECK(g->nodes().begin()->next()->inputs()[2]->node()->kind() != c10::prim::Constant);
  }
  SUBCASE("dry run reports without changing") {
    auto g = parse(R"IR(
graph(%x : Tensor):
  %t : bool = prim::Constant[value=1]()
  %p : float = prim::Constant[value=0.5]()
  %y : Tensor = aten::dropout(%x, %p, %t)
  return (%y))IR");
    CHECK(llmc::passes::bake_eval_mode(*g, /*dry_run=*/true).dropout == 1);
    CHECK(count_constant_flags(*g, true) == 1);
  }
}

TEST_CASE("inside nested blocks too") {
  auto g = parse(R"IR(
graph(%x : Tensor, %c : bool):
  %t : bool = prim::Constant[value=1]()
  %p : float = prim::Constant[value=0.1]()
  %y : Tensor = prim::If(%c)
    block0():
      %a : Tensor = aten::dropout(%x, %p, %t)
      -> (%a)
    block1():
      -> (%x)
  return (%y))IR");
  CHECK(llmc::passes::bake_eval_mode(*g).dropout == 1);
}
