// fuse_tanh_gelu: GPT-2's written-out tanh GELU becomes one aten::gelu(x, approximate="tanh")
// with the same values; other expressions, and ones whose intermediates are used elsewhere, stay.
#include "torch_doctest.h"
#include <torch/script.h>

#include "llmc/passes/fuse_tanh_gelu.h"
#include "test_support.h"

namespace {

int count(const torch::jit::Graph& g, c10::Symbol kind) {
  int n = 0;
  for (const auto* node : g.nodes()) n += node->kind() == kind;
  return n;
}

torch::jit::Module scripted(const std::string& name, const std::string& body) {
  torch::jit::Module m(name);
  m.define("def forward(self, x):\n" + body);
  return m;
}

}  // namespace

TEST_CASE("the written-out tanh GELU, as HF writes it and as a trace orders it, becomes aten::gelu") {
  // HF's NewGELUActivation as TorchScript compiles it, and the operand order a trace records
  // (0.5 * x -> mul(x, 0.5), 1.0 + t -> add(t, 1.0)).
  const std::string hf =
      "    return 0.5 * x * (1.0 + torch.tanh(0.7978845608028654 * (x + 0.044715 * torch.pow(x, 3.0))))\n";
  const std::string traced =
      "    t = torch.tanh(torch.mul(torch.add(x, torch.mul(torch.pow(x, 3), 0.044715)), 0.7978845608028654))\n"
      "    return torch.mul(torch.mul(x, 0.5), torch.add(t, 1.0))\n";
  for (const auto& variant : {std::pair{"hf", hf}, std::pair{"traced", traced}}) {
    const std::string name = variant.first;
    const std::string& body = variant.second;
    CAPTURE(name);
    torch::jit::Module m = scripted(std::string("G_") + name, body);
    const auto x = torch::randn({4, 16, 32}) * 3;
    const at::Tensor before = m.forward({x}).toTensor();
    auto graph = m.get_method("forward").graph();
    CHECK(llmc::passes::fuse_tanh_gelu(m).changed == 1);
    CHECK(count(*graph, c10::aten::gelu) == 1);
    CHECK(count(*graph, c10::aten::tanh) == 0);
    CHECK(count(*graph, c10::aten::pow) == 0);
    CHECK(count(*graph, c10::aten::mul) == 0);
    CHECK(llmc::passes::fuse_tanh_gelu(m).changed == 0);  // idempotent
    const at::Tensor after = m.forward({x}).toTensor();
    CHECK(torch::allclose(after, before, 1e-5, 1e-5));
    CHECK(torch::allclose(after, torch::gelu(x, "tanh"), 1e-6, 1e-6));
  }
}

TEST_CASE("other constants, other expressions and shared intermediates are left alone") {
  const std::string other_scale =
      "    return 0.6 * x * (1.0 + torch.tanh(0.7978845608028654 * (x + 0.044715 * torch.pow(x, 3.0))))\n";
  const std::string other_pow =
      "    return 0.5 * x * (1.0 + torch.tanh(0.7978845608028654 * (x + 0.044715 * torch.pow(x, 2.0))))\n";
  const std::string other_x =
      "    y = x + 1.0\n"
      "    return 0.5 * y * (1.0 + torch.tanh(0.7978845608028654 * (x + 0.044715 * torch.pow(x, 3.0))))\n";
  const std::string shared =
      "    t = torch.tanh(0.7978845608028654 * (x + 0.044715 * torch.pow(x, 3.0)))\n"
      "    return 0.5 * x * (1.0 + t) + t\n";
  int i = 0;
  for (const auto& body : {other_scale, other_pow, other_x, shared}) {
    CAPTURE(body);
    torch::jit::Module m = scripted("N" + std::to_string(i++), body);
    const auto x = torch::randn({8});
    const at::Tensor before = m.forward({x}).toTensor();
    CHECK(llmc::passes::fuse_tanh_gelu(m).changed == 0);
    CHECK(count(*m.get_method("forward").graph(), c10::aten::gelu) == 0);
    CHECK(torch::equal(m.forward({x}).toTensor(), before));
  }
}

TEST_CASE("a traced HF GPT-2 (one-element tensor constants) gets one aten::gelu per block") {
  torch::jit::Module m = torch::jit::load(llmc::test::fixture("hf_gpt2_traced.pt"));
  m.eval();
  torch::manual_seed(0);
  const auto ids = torch::randint(0, 1000, {2, 12});
  const auto mask = torch::ones({2, 12}, torch::kLong);
  torch::NoGradGuard no_grad;
  const at::Tensor before = m.forward({ids, mask}).toTensor();
  torch::jit::Module fused = m.clone();
  CHECK(llmc::passes::fuse_tanh_gelu(fused).changed == 2);  // one per block
  int gelus = 0;
  for (const auto& sub : fused.named_modules()) {
    if (sub.name.size() > 4 && sub.name.substr(sub.name.size() - 4) == ".act") {
      gelus += count(*sub.value.get_method("forward").graph(), c10::aten::gelu);
    }
  }
  CHECK(gelus == 2);  // the fixture's two blocks
  const at::Tensor after = fused.forward({ids, mask}).toTensor();
  CHECK(torch::allclose(after, before, 1e-4, 1e-4));
}
