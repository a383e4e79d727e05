// passes/pipelines: the inference clean-up runs only the passes whose keys are on and reports
// exactly those; bf16_compute runs the low-precision passes on a frozen bf16 graph.
#include "torch_doctest.h"
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/script.h>

#include "llmc/passes/pipelines.h"
#include "llmc/report/pass_details.h"

namespace {

torch::jit::Module gelu_module(const std::string& name) {
  torch::jit::Module m(name);
  m.define(
      "def forward(self, x):\n"
      "    return 0.5 * x * (1.0 + torch.tanh(0.7978845608028654 * (x + 0.044715 * "
      "torch.pow(x, 3.0))))\n");
  return m;
}

}  // namespace

TEST_CASE("inference_cleanup: only the passes whose keys are on run, and only they are reported") {
  torch::jit::Module off = gelu_module("PipelinesOff");
  const auto none = llmc::passes::inference_cleanup(off, false, false);
  CHECK_FALSE(none.attention.has_value());
  CHECK_FALSE(none.fused_gelu.has_value());
  llmc::util::Json details = llmc::util::Json::object();
  llmc::report::add_details(none, details);
  CHECK(details.as_object().empty());

  torch::jit::Module on = gelu_module("PipelinesOn");
  const auto both = llmc::passes::inference_cleanup(on, true, true);
  REQUIRE(both.fused_gelu.has_value());
  CHECK(both.fused_gelu->changed == 1);
  REQUIRE(both.attention.has_value());
  CHECK(both.attention->scale_folded.empty());
  llmc::report::add_details(both, details);
  CHECK(details.at("fused_gelu").as_int() == 1);
  CHECK(details.at("attention_rewrites").at("scale_folded").as_array().empty());
  CHECK(details.at("attention_rewrites").at("contiguous_transposed_operands").as_int() == 0);
}

TEST_CASE("bf16_compute: inputs cast to bf16, outputs back to float32, layer_norm in float32") {
  torch::jit::Module m("PipelinesBf16");
  m.register_parameter("w", torch::randn({8, 8}).to(at::kBFloat16), false);
  m.register_parameter("g", torch::ones({8}).to(at::kBFloat16), false);
  m.register_parameter("b", torch::zeros({8}).to(at::kBFloat16), false);
  m.define(
      "def forward(self, x):\n"
      "    y = torch.matmul(x, self.w)\n"
      "    return torch.layer_norm(y, [8], self.g, self.b, 1e-5)\n");
  m.eval();
  torch::jit::Module frozen = torch::jit::freeze(m);
  auto graph = frozen.get_method("forward").graph();
  const auto r = llmc::passes::bf16_compute(*graph, {true});
  CHECK(r.boundary.inputs_cast == 1);
  CHECK(r.boundary.outputs_cast == 1);
  CHECK(r.layer_norms.changed == 1);
  CHECK(r.boundary.changed == 2);
  const at::Tensor out = frozen.forward({torch::randn({2, 8})}).toTensor();
  CHECK((out.scalar_type() == at::kFloat));
}
