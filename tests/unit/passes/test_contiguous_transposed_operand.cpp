// contiguous_transposed_operand: a permuted, transposed matmul operand is made contiguous before
// its transpose; the product is unchanged; weights and other transposes are left alone.
#include "torch_doctest.h"
#include <torch/script.h>

#include "llmc/passes/contiguous_transposed_operand.h"

namespace {

int count(const torch::jit::Graph& g, c10::Symbol kind) {
  int n = 0;
  for (const auto* node : g.nodes()) n += node->kind() == kind;
  return n;
}

torch::jit::Module scores(const std::string& name) {
  torch::jit::Module m(name);
  m.register_parameter("w", torch::randn({8, 8}), false);
  m.define(R"JIT(
def forward(self, q, k):
    k = k.permute(0, 2, 1, 3)
    s = torch.matmul(q.permute(0, 2, 1, 3), k.transpose(-1, -2))
    return torch.matmul(s, self.w.transpose(-1, -2)) + torch.matmul(s, k.transpose(0, 1).transpose(0, 1))
)JIT");
  return m;
}

}  // namespace

TEST_CASE("the permuted K of Q·Kᵀ is made contiguous first; the result is identical") {
  torch::manual_seed(0);
  torch::jit::Module reference = scores("A");  // its own type: a first run fixes a method's plan
  torch::manual_seed(0);
  torch::jit::Module m = scores("B");
  const auto q = torch::randn({2, 8, 4, 8}), k = torch::randn({2, 8, 4, 8});
  const at::Tensor before = reference.forward({q, k}).toTensor();
  auto graph = m.get_method("forward").graph();
  // Only k.transpose(-1, -2) into a matmul: not the weight's, not transpose(0, 1).
  CHECK(llmc::passes::contiguous_transposed_operand(*graph).changed == 1);
  CHECK(count(*graph, c10::aten::contiguous) == 1);
  CHECK(llmc::passes::contiguous_transposed_operand(*graph).changed == 0);  // idempotent
  CHECK(torch::equal(m.forward({q, k}).toTensor(), before));
}
