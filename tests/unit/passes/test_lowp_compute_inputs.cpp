// lowp_compute_inputs on a frozen bf16 module that builds a float32 mask in forward: without the
// pass the product after the mask mixes float32 and bf16 and fails; with it the model runs and
// stays close to its float32 self.
#include "torch_doctest.h"
#include <torch/script.h>
#include <torch/csrc/jit/passes/freeze_module.h>

#include "llmc/passes/lowp_compute_inputs.h"

namespace {

torch::jit::Module masked_attention(at::ScalarType type) {
  torch::manual_seed(0);
  torch::jit::Module m("M");
  m.register_parameter("w", (torch::randn({16, 16}) * 0.3).to(type), false);
  m.define(R"JIT(
def forward(self, x):
    t = x.size(1)
    mask = (1.0 - torch.ones(t, t).tril()) * -10000.0
    scores = torch.matmul(x, x.transpose(-1, -2)) + mask
    ctx = torch.matmul(torch.softmax(scores, -1), x)
    return torch.linear(ctx, self.w)
)JIT");
  m.eval();
  return torch::jit::freeze_module(m);
}

int count(const torch::jit::Graph& g, const char* kind) {
  int n = 0;
  for (const auto* node : g.nodes()) n += node->kind().toQualString() == std::string(kind) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("products after a float32 mask compute in bf16 instead of failing") {
  const auto x = torch::randn({2, 6, 16});
  const at::Tensor reference = masked_attention(at::kFloat).forward({x}).toTensor();
  const auto xb = x.to(at::kBFloat16);

  torch::jit::Module plain = masked_attention(at::kBFloat16);
  CHECK_THROWS(plain.forward({xb}));

  torch::jit::Module m = masked_attention(at::kBFloat16);
  auto graph = m.get_method("forward").graph();
  const int before = count(*graph, "aten::to");
  // Two matmuls with two activation operands each, one linear with one (its weight is a constant).
  CHECK(llmc::passes::lowp_compute_inputs(*graph, at::kBFloat16).changed == 5);
  CHECK(count(*graph, "aten::to") == before + 5);
  const at::Tensor out = m.forward({xb}).toTensor();
  CHECK((out.scalar_type() == at::kBFloat16));
  const double rel = ((out.to(at::kFloat) - reference).norm() / reference.norm()).item<double>();
  CHECK(rel < 3e-2);
}

TEST_CASE("a float32 graph computes the same values with the casts to float32") {
  const auto x = torch::randn({2, 6, 16});
  const at::Tensor before = masked_attention(at::kFloat).forward({x}).toTensor();
  torch::jit::Module m = masked_attention(at::kFloat);
  llmc::passes::lowp_compute_inputs(*m.get_method("forward").graph(), at::kFloat);
  CHECK(torch::equal(m.forward({x}).toTensor(), before));
}
