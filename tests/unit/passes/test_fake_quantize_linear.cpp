// fake_quantize_linear: every aten::linear on a weight attribute of its module gets LibTorch's
// fake-quantize ops on the weight (and its input, with a min/max observer), in scripted and
// traced HF-style models; gradients pass straight through to the float weights; a linear on a
// computed weight is left alone and listed.
#include "torch_doctest.h"
#include <torch/script.h>

#include "llmc/model/graph_nodes.h"
#include "llmc/model/layers.h"
#include "llmc/passes/fake_quantize_linear.h"
#include "test_support.h"

namespace {

using llmc::passes::FakeQuantizeLinearOptions;
using llmc::passes::fake_quantize_linear;

// Nodes of `kind` in every method graph of every module (a shared type's graph once).
int count_everywhere(const torch::jit::Module& m, c10::Symbol kind) {
  std::set<const torch::jit::Graph*> seen;
  int n = 0;
  for (const auto& sub : m.named_modules()) {
    for (const auto& method : sub.value.get_methods()) {
      auto g = method.graph();
      if (!seen.insert(g.get()).second) continue;
      for (const auto* node : llmc::model::graph_nodes(*g)) n += node->kind() == kind;
    }
  }
  return n;
}

FakeQuantizeLinearOptions options(bool per_channel, bool activations, at::Tensor averaging) {
  FakeQuantizeLinearOptions o;
  o.per_channel = per_channel;
  o.activations = activations;
  o.averaging = std::move(averaging);
  return o;
}

}  // namespace

TEST_CASE("every Linear of a scripted and a traced BERT is fake-quantized; gradients reach the weights") {
  for (const char* name : {"distill_student.pt", "bert_tiny_traced.pt"}) {
    CAPTURE(name);
    torch::jit::Module m = torch::jit::load(llmc::test::fixture(name));
    const auto linears = llmc::model::linear_layers(m);
    REQUIRE(linears.size() >= 6);
    CHECK(count_everywhere(m, c10::aten::fake_quantize_per_channel_affine) == 0);
    const at::Tensor averaging = torch::ones({});
    torch::jit::Module q = m.clone(/*inplace=*/true);  // shares m's parameters
    const auto r = fake_quantize_linear(q, options(true, true, averaging));
    CHECK(r.layers.size() == linears.size());
    CHECK(r.left.empty());
    const int linear_ops = count_everywhere(q, c10::aten::linear);
    CHECK(r.changed == linear_ops);
    CHECK(count_everywhere(q, c10::aten::fake_quantize_per_channel_affine) == linear_ops);
    CHECK(count_everywhere(q, c10::aten::fake_quantize_per_tensor_affine) == linear_ops);
    // The original's graphs are untouched.
    CHECK(count_everywhere(m, c10::aten::fake_quantize_per_channel_affine) == 0);

    q = q.clone(/*inplace=*/true);
    q.eval();
    m.eval();
    const auto ids = torch::randint(1, 1000, {2, 8});
    const auto mask = torch::ones({2, 8}, at::kLong);
    const at::Tensor out = q.forward({ids, mask}).toTensor();
    const at::Tensor ref = m.forward({ids, mask}).toTensor();
    CHECK(out.sizes() == ref.sizes());
    CHECK_FALSE(torch::equal(out, ref));                 // quantization changes the outputs
    CHECK(torch::allclose(out, ref, 0.05, 0.05));        // ... a little
    // The first batch set every observer's range (averaging 1).
    for (const auto& l : r.layers) {
      CHECK(l.act_max.item<double>() > l.act_min.item<double>());
    }
    // Straight-through: every fake-quantized weight (a parameter of m) gets a non-zero gradient.
    for (const auto& p : m.parameters(true)) {
      at::Tensor t = p;
      t.set_requires_grad(true);
    }
    averaging.fill_(0);
    q.forward({ids, mask}).toTensor().pow(2).sum().backward();
    for (const auto& l : r.layers) {
      CAPTURE(l.module);
      torch::jit::Module owner = m;
      for (const auto& sub : m.named_modules()) {
        if (sub.name == l.module) owner = sub.value;
      }
      const at::Tensor g = owner.attr(l.weight).toTensor().grad();
      REQUIRE(g.defined());
      CHECK(g.abs().sum().item<double>() > 0);
    }
  }
}

TEST_CASE("per-tensor weights and observed inputs give what the fake-quantize formulas give") {
  torch::jit::Module m("FunctionalLinear");
  m.register_parameter("weight", torch::randn({5, 4}), false);
  m.register_parameter("bias", torch::randn({5}), false);
  m.define("def forward(self, x):\n    return torch.linear(x, self.weight, self.bias)\n");
  const at::Tensor averaging = torch::ones({});
  const auto r = fake_quantize_linear(m, options(false, true, averaging));
  REQUIRE(r.layers.size() == 1);
  CHECK(r.layers[0].module.empty());
  CHECK(r.layers[0].weight == "weight");
  m = m.clone(/*inplace=*/true);
  const auto x = torch::randn({3, 4}) * 2 + 0.5;
  const at::Tensor y = m.forward({x}).toTensor();

  const at::Tensor w = m.attr("weight").toTensor().detach();
  const double ws = w.abs().max().item<double>() / 127.5;
  const at::Tensor wq = at::fake_quantize_per_tensor_affine(w, ws, 0, -128, 127);
  const double lo = std::min(0.0, x.min().item<double>());
  const double hi = std::max(0.0, x.max().item<double>());
  const double xs = (hi - lo) / 255.0;
  const int64_t zp = std::min<int64_t>(255, std::max<int64_t>(0, -std::llround(lo / xs)));
  const at::Tensor xq = at::fake_quantize_per_tensor_affine(x, xs, zp, 0, 255);
  const at::Tensor expected = at::linear(xq, wq, m.attr("bias").toTensor().detach());
  CHECK(torch::allclose(y, expected, 1e-4, 1e-4));
  CHECK(r.layers[0].act_min.item<double>() == doctest::Approx(x.min().item<double>()));
  CHECK(r.layers[0].act_max.item<double>() == doctest::Approx(x.max().item<double>()));

  // Averaging 0: the observers stand still on another batch.
  averaging.fill_(0);
  m.forward({x * 10});
  CHECK(r.layers[0].act_max.item<double>() == doctest::Approx(x.max().item<double>()));
  // Averaging 0.5: halfway to the new batch's range.
  averaging.fill_(0.5);
  m.forward({x * 3});
  CHECK(r.layers[0].act_max.item<double>() ==
        doctest::Approx(x.max().item<double>() * 2).epsilon(1e-4));
}

TEST_CASE("must not rewrite: a linear on a computed weight is left alone and listed") {
  torch::jit::Module m("ComputedWeight");
  m.register_parameter("weight", torch::randn({5, 4}), false);
  m.define("def forward(self, x):\n    return torch.linear(x, self.weight * 2.0)\n");
  const auto r = fake_quantize_linear(m, options(true, false, {}));
  CHECK(r.layers.empty());
  CHECK(r.changed == 0);
  REQUIRE(r.left.size() == 1);
  CHECK(llmc::test::has(r.left[0].site, "<root>.forward"));
  CHECK(count_everywhere(m, c10::aten::fake_quantize_per_channel_affine) == 0);
}
