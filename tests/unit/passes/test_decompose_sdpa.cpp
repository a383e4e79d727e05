// decompose_sdpa and the registered aten::scaled_dot_product_attention: the op runs and
// differentiates, and the decomposition computes the same with only LibTorch 1.13 operators, for
// float and boolean masks (known from the code or only at run time), is_causal, scale and GQA.
#include "torch_doctest.h"

#include <torch/torch.h>

#include "llmc/model/newer_ops.h"
#include "llmc/passes/decompose_sdpa.h"

namespace {

int count(torch::jit::Block* block, const char* kind) {
  int n = 0;
  for (auto* node : block->nodes()) {
    for (auto* b : node->blocks()) n += count(b, kind);
    n += node->kind().toQualString() == std::string(kind) ? 1 : 0;
  }
  return n;
}

int count(const torch::jit::Module& m, const char* kind) {
  int n = 0;
  for (const auto& sub : m.modules()) {
    for (auto* f : sub.type()->methods()) {
      n += count(torch::jit::toGraphFunction(*f).graph()->block(), kind);
    }
  }
  return n;
}

torch::jit::Module module(const std::string& code) {
  llmc::model::register_newer_operators();
  torch::jit::Module m("M");
  m.define(code);
  m.eval();
  return m;
}

at::Tensor run(torch::jit::Module& m, std::vector<c10::IValue> args) {
  return m.forward(args).toTensor();
}

// Reference attention written out by hand.
at::Tensor reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& bias, double scale) {
  return at::matmul(at::softmax(at::matmul(q, k.transpose(-2, -1)) * scale + bias, -1), v);
}

}  // namespace

TEST_CASE("the registered op matches hand-written attention and has gradients") {
  llmc::model::register_newer_operators();
  llmc::model::register_newer_operators();  // idempotent
  torch::manual_seed(0);
  const auto q = torch::randn({2, 4, 5, 8}, torch::requires_grad());
  const auto k = torch::randn({2, 4, 5, 8});
  const auto v = torch::randn({2, 4, 5, 8});
  const auto bias = torch::randn({2, 1, 1, 5});
  auto m = module(R"JIT(
def forward(self, q, k, v, mask):
    return torch.scaled_dot_product_attention(q, k, v, mask, 0., False, scale=0.25)
)JIT");
  const at::Tensor out = run(m, {q, k, v, bias});
  CHECK(torch::allclose(out, reference(q, k, v, bias, 0.25), 1e-5, 1e-6));
  out.sum().backward();
  REQUIRE(q.grad().defined());
  const auto q2 = q.detach().clone().requires_grad_(true);
  reference(q2, k, v, bias, 0.25).sum().backward();
  CHECK(torch::allclose(q.grad(), q2.grad(), 1e-5, 1e-6));
}

TEST_CASE("float mask built in the code: decomposed to matmul/softmax/matmul, same outputs") {
  auto m = module(R"JIT(
def forward(self, q, k, v, keep):
    mask = (1.0 - keep.float()) * -10000.0
    return torch.scaled_dot_product_attention(q, k, v, mask[:, None, None, :], 0., False)
)JIT");
  torch::manual_seed(1);
  const auto q = torch::randn({2, 2, 6, 4}), k = torch::randn({2, 2, 6, 4}), v = torch::randn({2, 2, 6, 4});
  auto keep = torch::ones({2, 6}, torch::kLong);
  keep.index_put_({1, torch::indexing::Slice(4)}, 0);
  const at::Tensor before = run(m, {q, k, v, keep});
  const auto r = llmc::passes::decompose_sdpa(m);
  CHECK(r.changed == 1);
  CHECK(r.mask_dtype_unknown == 0);
  CHECK(count(m, "aten::scaled_dot_product_attention") == 0);
  CHECK(count(m, "aten::softmax") == 1);
  CHECK(count(m, "aten::matmul") == 2);
  CHECK(count(m, "prim::If") == 0);
  CHECK(torch::allclose(run(m, {q, k, v, keep}), before, 1e-5, 1e-6));
}

TEST_CASE("boolean mask through a submodule's argument, is_causal, GQA and a given scale") {
  llmc::model::register_newer_operators();
  torch::jit::Module attn("Attn");
  attn.define(R"JIT(
def forward(self, q, k, v, mask):
    return torch.scaled_dot_product_attention(q, k, v, mask, 0., False, scale=0.5, enable_gqa=True)
)JIT");
  torch::jit::Module causal("Causal");
  causal.define(R"JIT(
def forward(self, q, k, v):
    return torch.scaled_dot_product_attention(q, k, v, None, 0., True)
)JIT");
  torch::jit::Module top("Top");
  top.register_module("attn", attn);
  top.register_module("causal", causal);
  top.define(R"JIT(
def forward(self, q, k, v, keep):
    mask = (keep > 0)[:, None, None, :]
    return self.attn.forward(q, k, v, mask) + self.causal.forward(q, q, q)
)JIT");
  top.eval();
  torch::manual_seed(2);
  const auto q = torch::randn({2, 4, 6, 8}), k = torch::randn({2, 2, 6, 8}), v = torch::randn({2, 2, 6, 8});
  auto keep = torch::ones({2, 6}, torch::kLong);
  keep.index_put_({0, torch::indexing::Slice(3)}, 0);
  const at::Tensor before = run(top, {q, k, v, keep});
  // Hand-written: GQA heads repeated, boolean mask, then causal self-attention of q.
  const auto kk = k.repeat_interleave(2, 1), vv = v.repeat_interleave(2, 1);
  const auto bias = torch::zeros({2, 1, 1, 6}).masked_fill((keep > 0).logical_not().view({2, 1, 1, 6}), -INFINITY);
  const auto causal_bias = torch::zeros({6, 6}).masked_fill(torch::ones({6, 6}).tril().logical_not(), -INFINITY);
  const auto expected = reference(q, kk, vv, bias, 0.5) + reference(q, q, q, causal_bias, 1.0 / std::sqrt(8.0));
  CHECK(torch::allclose(before, expected, 1e-5, 1e-5));
  const auto r = llmc::passes::decompose_sdpa(top);
  CHECK(r.changed == 2);
  CHECK(r.mask_dtype_unknown == 0);  // known through the call site
  CHECK(count(top, "aten::scaled_dot_product_attention") == 0);
  CHECK(count(top, "aten::repeat_interleave") == 2);
  CHECK(count(top, "aten::tril") == 1);
  CHECK(count(top, "prim::If") == 0);
  CHECK(torch::allclose(run(top, {q, k, v, keep}), before, 1e-5, 1e-5));
}

TEST_CASE("a mask whose dtype only the caller knows: prim::If on its dtype, right for both") {
  auto m = module(R"JIT(
def forward(self, q, k, v, mask):
    return torch.scaled_dot_product_attention(q, k, v, mask)
)JIT");
  torch::manual_seed(3);
  const auto q = torch::randn({1, 2, 4, 4}), k = torch::randn({1, 2, 4, 4}), v = torch::randn({1, 2, 4, 4});
  const auto keep = torch::tensor({true, true, false, true}).view({1, 1, 1, 4});
  const auto additive = torch::zeros({1, 1, 1, 4}).masked_fill(keep.logical_not(), -1e4);
  const at::Tensor bool_before = run(m, {q, k, v, keep});
  const at::Tensor add_before = run(m, {q, k, v, additive});
  const auto r = llmc::passes::decompose_sdpa(m);
  CHECK(r.changed == 1);
  CHECK(r.mask_dtype_unknown == 1);
  CHECK(count(m, "prim::If") == 1);
  CHECK(torch::allclose(run(m, {q, k, v, keep}), bool_before, 1e-5, 1e-6));
  CHECK(torch::allclose(run(m, {q, k, v, additive}), add_before, 1e-5, 1e-6));
}

TEST_CASE("must not rewrite: a model without the op is left as it is") {
  auto m = module(R"JIT(
def forward(self, x):
    return torch.softmax(torch.matmul(x, x.transpose(-2, -1)), -1)
)JIT");
  const auto r = llmc::passes::decompose_sdpa(m);
  CHECK(r.changed == 0);
  CHECK(count(m, "aten::matmul") == 1);
}
