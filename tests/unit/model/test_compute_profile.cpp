// thread_pool: auto — which pool a model's operators run in, counted from its forward graph.
#include "torch_doctest.h"
#include <torch/script.h>

#include "llmc/model/compute_profile.h"

using llmc::model::ComputeProfile;
using llmc::model::compute_profile;
using llmc::model::preferred_pool;
using llmc::util::ThreadPool;

TEST_CASE("the preferred pool over a table of model kinds") {
  struct Case {
    const char* model;
    ComputeProfile profile;
    ThreadPool pool;
  };
  // A BERT layer: q, k, v, output and two FFN linears, two attention matmuls.
  const Case cases[] = {
      {"float32 encoder", {8, 0, 0, 0}, ThreadPool::blas},
      {"dynamic int8 encoder (attention matmuls stay float)", {2, 0, 6, 0}, ThreadPool::libtorch},
      {"bf16 encoder", {0, 8, 0, 0}, ThreadPool::libtorch},
      {"float32 CNN with a classifier", {1, 0, 0, 5}, ThreadPool::libtorch},
      {"float32 LSTM tagger", {2, 0, 0, 0}, ThreadPool::blas},
      {"int8 LSTM", {1, 0, 1, 0}, ThreadPool::libtorch},
      {"element-wise only", {0, 0, 0, 0}, ThreadPool::libtorch},
  };
  for (const auto& c : cases) {
    CAPTURE(c.model);
    CHECK(preferred_pool(c.profile) == c.pool);
  }
}

namespace {

torch::jit::Module module_of(const std::string& source, at::ScalarType dtype = at::kFloat) {
  torch::jit::Module m("M");
  m.register_parameter("w", torch::randn({8, 8}).to(dtype), false);
  m.register_parameter("k", torch::randn({4, 3, 3, 3}), false);
  m.define(source);
  return m;
}

}  // namespace

TEST_CASE("products, convolutions and the weights' dtype counted from the forward graph") {
  const auto linear = compute_profile(module_of(
      "def forward(self, x):\n"
      "    y = torch.linear(x, self.w)\n"
      "    return torch.matmul(torch.relu(y), self.w)\n"));
  CHECK(linear.float_products == 2);
  CHECK(linear.half_products == 0);
  CHECK(preferred_pool(linear) == ThreadPool::blas);

  const auto conv = compute_profile(module_of(
      "def forward(self, x):\n"
      "    return torch.conv2d(x, self.k)\n"));
  CHECK(conv.convolutions == 1);
  CHECK(conv.float_products == 0);
  CHECK(preferred_pool(conv) == ThreadPool::libtorch);
}

TEST_CASE("a model whose weights are mostly bf16 counts its products as half-precision ones") {
  torch::jit::Module m("M");
  m.register_parameter("w", torch::randn({64, 64}).to(at::kBFloat16), false);
  m.define(
      "def forward(self, x):\n"
      "    return torch.linear(x, self.w)\n");
  const auto p = compute_profile(m);
  CHECK(p.half_products == 1);
  CHECK(p.float_products == 0);
  CHECK(preferred_pool(p) == ThreadPool::libtorch);
}

TEST_CASE("the operators of submodules count, once per instance") {
  torch::jit::Module inner("Inner");
  inner.register_parameter("w", torch::randn({8, 8}), false);
  inner.define("def forward(self, x):\n    return torch.linear(x, self.w)\n");
  torch::jit::Module outer("Outer");
  outer.register_module("a", inner);
  outer.register_module("b", inner.clone());
  outer.define("def forward(self, x):\n    return self.b.forward(self.a.forward(x))\n");
  CHECK(compute_profile(outer).float_products == 2);
}
