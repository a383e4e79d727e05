// activation_matmuls_bf16 on scripted modules: which products it moves to bf16, which it must
// leave alone, and that the results stay close to float32.
#include "torch_doctest.h"
#include <torch/script.h>

#include "llmc/passes/activation_matmuls.h"

namespace {

int count(const torch::jit::Graph& g, const char* kind) {
  int n = 0;
  for (const auto* node : g.nodes()) n += node->kind().toQualString() == std::string(kind) ? 1 : 0;
  return n;
}

torch::jit::Module attention_like() {
  torch::jit::Module m("M");
  m.register_parameter("w", torch::randn({8, 8}), false);
  m.define(R"JIT(
def forward(self, q, k, v):
    scores = torch.matmul(q, k.transpose(-1, -2)) / 2.0
    probs = torch.softmax(scores, -1)
    ctx = torch.matmul(probs, v)
    return torch.matmul(ctx, self.w.t()) + torch.bmm(ctx, self.w.expand(2, 8, 8))
)JIT");
  return m;
}

}  // namespace

TEST_CASE("activation products go to bf16, products with a weight stay float") {
  // The reference is a second module of its own type: a method's first run fixes its plan.
  torch::manual_seed(0);
  torch::jit::Module reference = attention_like();
  torch::manual_seed(0);
  torch::jit::Module m = attention_like();
  const auto q = torch::randn({2, 5, 8}), k = torch::randn({2, 5, 8}), v = torch::randn({2, 5, 8});
  const at::Tensor before = reference.forward({q, k, v}).toTensor();

  auto graph = m.get_method("forward").graph();
  const auto r = llmc::passes::activation_matmuls_bf16(*graph);
  CHECK(r.changed == 2);
  REQUIRE(r.left_count() == 2);
  CHECK(r.left[0].reason == llmc::passes::kWeightOperand);
  CHECK(r.left[0].site.find("aten::matmul") != std::string::npos);
  // Two casts in per converted product, one back out.
  CHECK(count(*graph, "aten::to") == 6);
  const at::Tensor after = m.forward({q, k, v}).toTensor();
  CHECK((after.scalar_type() == at::kFloat));
  CHECK(after.sizes().equals(before.sizes()));
  // bf16 keeps 8 significant bits: close to the float result, but not equal.
  const double rel = ((after - before).norm() / before.norm()).item<double>();
  CHECK(rel < 2e-2);
  CHECK(rel > 0);
}

TEST_CASE("a graph without activation products is unchanged") {
  torch::jit::Module m("M");
  m.register_parameter("w", torch::randn({4, 4}), false);
  m.define(R"JIT(
def forward(self, x):
    return torch.matmul(x, self.w)
)JIT");
  auto graph = m.get_method("forward").graph();
  const auto r = llmc::passes::activation_matmuls_bf16(*graph);
  CHECK(r.changed == 0);
  CHECK(r.left_count() == 1);
  CHECK(count(*graph, "aten::to") == 0);
}

TEST_CASE("activation_matmuls_float32 undoes the bf16 products exactly, and nothing else") {
  torch::manual_seed(0);
  torch::jit::Module reference = attention_like();
  torch::manual_seed(0);
  torch::jit::Module m = attention_like();
  const auto q = torch::randn({2, 5, 8}), k = torch::randn({2, 5, 8}), v = torch::randn({2, 5, 8});
  const at::Tensor before = reference.forward({q, k, v}).toTensor();

  auto graph = m.get_method("forward").graph();
  REQUIRE(llmc::passes::activation_matmuls_bf16(*graph).changed == 2);
  CHECK(llmc::passes::activation_matmuls_float32(*graph).changed == 2);
  // No bf16 cast is read any more (Kᵀ is a transpose of the float k again).
  for (const auto* node : graph->nodes()) {
    if (node->kind() != c10::aten::to || !node->output()->hasUses()) continue;
    const auto dtype = torch::jit::toIValue(node->input(1));
    CHECK(!(dtype && dtype->isInt() && dtype->toInt() == static_cast<int64_t>(at::kBFloat16)));
  }
  // Only the casts back (to the first operand's own dtype) are still used: float32 in, float32
  // out, so the products are the float32 ones.
  const at::Tensor after = m.forward({q, k, v}).toTensor();
  CHECK(torch::equal(after, before));
  // A second run finds nothing left to restore.
  CHECK(llmc::passes::activation_matmuls_float32(*graph).changed == 0);
}

TEST_CASE("activation_matmuls_float32 leaves a product with one float operand alone") {
  torch::jit::Module m("M");
  m.define(R"JIT(
def forward(self, a, b):
    return torch.matmul(a.to(15), b)
)JIT");
  auto graph = m.get_method("forward").graph();
  CHECK(llmc::passes::activation_matmuls_float32(*graph).changed == 0);
  CHECK(count(*graph, "aten::to") == 1);
}
