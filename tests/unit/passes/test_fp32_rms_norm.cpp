// fp32_rms_norm: an RMSNorm written without casts normalizes in float32 in a bfloat16 graph and
// returns the input's dtype; HF's LlamaRMSNorm (which casts itself) is counted and left alone.
#include "torch_doctest.h"
#include <torch/script.h>

#include "llmc/passes/fp32_rms_norm.h"

namespace {

int count(const torch::jit::Graph& g, c10::Symbol kind) {
  int n = 0;
  for (const auto* node : g.nodes()) n += node->kind() == kind;
  return n;
}

torch::jit::Module norm(const std::string& name, const std::string& body) {
  torch::jit::Module m(name);
  m.register_buffer("w", torch::linspace(0.5, 1.5, 64).to(at::kBFloat16));
  m.define("def forward(self, x):\n" + body);
  return m;
}

}  // namespace

TEST_CASE("an RMSNorm without casts normalizes in float32 and returns bfloat16") {
  const std::string pow_form =
      "    return self.w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))\n";
  const std::string mul_form =
      "    return (x * torch.rsqrt(torch.mean(x * x, [-1], True) + 1e-5)) * self.w\n";
  int i = 0;
  for (const auto& body : {pow_form, mul_form}) {
    CAPTURE(body);
    torch::jit::Module m = norm("R" + std::to_string(i++), body);
    torch::manual_seed(0);
    const auto x32 = torch::randn({4, 16, 64}) * 40;
    const auto x = x32.to(at::kBFloat16);
    const at::Tensor before = m.forward({x}).toTensor();
    auto graph = m.get_method("forward").graph();
    const auto r = llmc::passes::fp32_rms_norm(*graph);
    CHECK(r.changed == 1);
    CHECK(r.left.empty());
    CHECK(count(*graph, c10::aten::to) == 2);
    const at::Tensor after = m.forward({x}).toTensor();
    CHECK((after.scalar_type() == at::kBFloat16));
    // The float32 reference on the same bfloat16 input.
    const auto xf = x.to(at::kFloat);
    const auto ref = m.attr("w").toTensor().to(at::kFloat) *
                     (xf * torch::rsqrt(xf.pow(2).mean(-1, true) + 1e-6));
    const double err_after = (after.to(at::kFloat) - ref).abs().max().item<double>();
    const double err_before = (before.to(at::kFloat) - ref).abs().max().item<double>();
    CHECK(err_after <= err_before);
    // Left: the bfloat16 rounding of the result (8 bits of mantissa).
    CHECK(err_after <= ref.abs().max().item<double>() / 128);
  }
}

TEST_CASE("HF's LlamaRMSNorm casts to float32 itself: counted, left alone") {
  torch::jit::Module m = norm("H",
      "    input_dtype = x.dtype\n"
      "    h = x.to(6)\n"  // x.to(torch.float32): 6 is float32's ScalarType
      "    variance = h.pow(2).mean(-1, keepdim=True)\n"
      "    h = h * torch.rsqrt(variance + 1e-6)\n"
      "    return self.w * h.to(input_dtype)\n");
  auto graph = m.get_method("forward").graph();
  const int casts = count(*graph, c10::aten::to);
  const auto r = llmc::passes::fp32_rms_norm(*graph);
  CHECK(r.changed == 0);
  CHECK(r.left_count(llmc::passes::kAlreadyFloat32) == 1);
  CHECK(count(*graph, c10::aten::to) == casts);
}

TEST_CASE("not an RMSNorm: other dims, no keepdim, a different operand, are left alone") {
  int i = 0;
  for (const std::string body :
       {"    return x * torch.rsqrt(x.pow(2).mean(0, keepdim=True) + 1e-6)\n",
        "    return x * torch.rsqrt(x.pow(2).mean(-1) + 1e-6).unsqueeze(-1)\n",
        "    return (x + 1.0) * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)\n",
        "    return x * torch.rsqrt(x.pow(3).mean(-1, keepdim=True) + 1e-6)\n"}) {
    CAPTURE(body);
    torch::jit::Module m = norm("N" + std::to_string(i++), body);
    auto graph = m.get_method("forward").graph();
    const auto r = llmc::passes::fp32_rms_norm(*graph);
    CHECK(r.changed == 0);
    CHECK(count(*graph, c10::aten::to) == 0);
  }
}
