// matrix_coverage: planned layers and their share of the weights, and the 2-D weights that belong
// to no planned layer or embedding table (reported, never silently left in float32).
#include "torch_doctest.h"

#include "llmc/quantize/coverage.h"

TEST_CASE("a bare matrix weight outside every layer is listed; planned layers are counted") {
  torch::jit::Module lin("Lin");
  lin.register_parameter("weight", torch::randn({8, 4}), false);
  lin.register_parameter("bias", torch::zeros({8}), false);
  lin.define("def forward(self, x):\n    return torch.linear(x, self.weight, self.bias)\n");
  torch::jit::Module root("Root");
  root.register_module("lin", lin);
  root.register_parameter("proj", torch::randn({8, 8}), false);  // used with matmul directly
  root.register_parameter("scale", torch::ones({8}), false);
  root.define("def forward(self, x):\n    return torch.matmul(self.lin.forward(x), self.proj) * self.scale\n");
  llmc::quantize::LayerPlan plan;
  plan.name = "lin";
  plan.quantize = true;
  const auto c = llmc::quantize::matrix_coverage(root, {plan});
  CHECK(c.layers_found == 1);
  CHECK(c.layers_quantized == 1);
  CHECK(c.weights_found == 32);
  CHECK(c.weights_quantized == 32);
  CHECK(c.parameters == 32 + 8 + 64 + 8);
  REQUIRE(c.left.size() == 1);
  CHECK(c.left[0] == "proj [8x8]");
  llmc::util::Json details = llmc::util::Json::object();
  std::vector<std::string> warnings;
  llmc::quantize::report_coverage(c, details, warnings);
  CHECK(details.at("matrix_layers").at("quantized").as_int() == 1);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("proj [8x8]") != std::string::npos);
  CHECK(warnings[0].find("stay float32") != std::string::npos);
  // Excluded: found but not quantized, and no warning for it (the recipe chose it).
  plan.quantize = false;
  const auto e = llmc::quantize::matrix_coverage(root, {plan});
  CHECK(e.layers_quantized == 0);
  CHECK(e.weights_quantized == 0);
}
