// fp32_layer_norm on frozen bf16 modules: layer_norm computes in float32 between casts, its
// result keeps the input's dtype, and it is at least as close to the float32 model as before.
#include "torch_doctest.h"
#include <torch/script.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>

#include "llmc/passes/fp32_layer_norm.h"

namespace {

int count(const torch::jit::Graph& g, const char* kind) {
  int n = 0;
  for (const auto* node : g.nodes()) n += node->kind().toQualString() == std::string(kind) ? 1 : 0;
  return n;
}

// A residual block ending in LayerNorm, with all of its weights of dtype `type`.
torch::jit::Module block(at::ScalarType type, bool affine = true) {
  torch::manual_seed(0);
  torch::jit::Module m("M");
  m.register_parameter("w", (torch::randn({32, 32}) * 0.2).to(type), false);
  m.register_parameter("g", (torch::rand({32}) + 0.5).to(type), false);
  m.register_parameter("b", (torch::randn({32}) * 0.1).to(type), false);
  m.define(affine ? R"JIT(
def forward(self, x):
    h = x + torch.matmul(x, self.w)
    return torch.layer_norm(h, [32], self.g, self.b, 1e-5)
)JIT"
                  : R"JIT(
def forward(self, x):
    h = x + torch.matmul(x, self.w)
    return torch.layer_norm(h, [32], None, None, 1e-5)
)JIT");
  m.eval();
  return torch::jit::freeze_module(m);
}

}  // namespace

TEST_CASE("bf16 layer_norm computes in float32 and returns bf16") {
  const auto x = torch::randn({4, 7, 32});
  const at::Tensor reference = block(at::kFloat).forward({x}).toTensor();
  torch::jit::Module plain = block(at::kBFloat16);
  const at::Tensor before = plain.forward({x.to(at::kBFloat16)}).toTensor();

  torch::jit::Module m = block(at::kBFloat16);
  auto graph = m.get_method("forward").graph();
  const auto r = llmc::passes::fp32_layer_norm(*graph);
  torch::jit::EliminateDeadCode(graph);
  CHECK(r.changed == 1);
  CHECK(r.left.empty());
  CHECK(count(*graph, "aten::to") == 2);  // in to float32, out to the input's dtype
  const at::Tensor after = m.forward({x.to(at::kBFloat16)}).toTensor();
  CHECK((after.scalar_type() == at::kBFloat16));
  CHECK(after.sizes().equals(reference.sizes()));
  const auto err = [&](const at::Tensor& t) {
    return ((t.to(at::kFloat) - reference).norm() / reference.norm()).item<double>();
  };
  // Both are bf16 models: close to float32, and the float32 normalization is no worse.
  CHECK(err(after) < 2e-2);
  CHECK(err(after) <= err(before) * 1.05);
}

TEST_CASE("a float32 layer_norm is unchanged in value, and None weights are kept") {
  const auto x = torch::randn({3, 32});
  for (const bool affine : {true, false}) {
    CAPTURE(affine);
    const at::Tensor before = block(at::kFloat, affine).forward({x}).toTensor();
    torch::jit::Module m = block(at::kFloat, affine);
    const auto r = llmc::passes::fp32_layer_norm(*m.get_method("forward").graph());
    CHECK(r.changed == 1);
    const at::Tensor after = m.forward({x}).toTensor();
    CHECK((after.scalar_type() == at::kFloat));
    CHECK(torch::equal(after, before));
  }
}

TEST_CASE("a layer_norm whose weight is not a constant is left alone") {
  torch::jit::Module m("M");
  m.register_parameter("g", torch::ones({8}).to(at::kBFloat16), false);
  m.define(R"JIT(
def forward(self, x):
    return torch.layer_norm(x, [8], self.g, None, 1e-5)
)JIT");
  const auto r = llmc::passes::fp32_layer_norm(*m.get_method("forward").graph());
  CHECK(r.changed == 0);
  REQUIRE(r.left_count() == 1);
  CHECK(r.left[0].reason == llmc::passes::kNotConstant);
}
