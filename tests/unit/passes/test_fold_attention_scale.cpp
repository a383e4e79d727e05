// fold_attention_scale on modules built in code and on the tiny BERT fixture: the division
// leaves the graph, the Linear carries it, outputs stay the same; and what it must not fold.
#include "torch_doctest.h"
#include <torch/script.h>

#include "llmc/passes/fold_attention_scale.h"
#include "test_support.h"

namespace {

torch::jit::Module linear(int64_t in, int64_t out) {
  torch::jit::Module m("Lin");
  m.register_parameter("weight", torch::randn({out, in}), false);
  m.register_parameter("bias", torch::randn({out}), false);
  m.define("def forward(self, x):\n    return torch.linear(x, self.weight, self.bias)\n");
  return m;
}

// Self-attention scores with a head size attribute, HF style: split_heads is a view-only helper.
torch::jit::Module scores_module(int64_t head_dim, const std::string& forward) {
  torch::jit::Module m("Scores");
  m.register_module("query", linear(2 * head_dim, 2 * head_dim));
  m.register_module("key", linear(2 * head_dim, 2 * head_dim));
  m.register_attribute("head_dim", c10::IntType::get(), head_dim);
  m.define(R"JIT(
def split_heads(self, x):
    return x.view(x.size(0), x.size(1), 2, self.head_dim).permute(0, 2, 1, 3)
)JIT" + forward);
  return m;
}

const char* kHfForward = R"JIT(
def forward(self, h):
    q = self.split_heads(self.query.forward(h))
    k = self.split_heads(self.key.forward(h))
    return torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / self.head_dim ** 0.5, -1)
)JIT";

int count(const torch::jit::Module& m, c10::Symbol kind) {
  int n = 0;
  for (const auto* node : m.get_method("forward").graph()->nodes()) n += node->kind() == kind;
  return n;
}

}  // namespace

TEST_CASE("a power-of-two divisor folds into the query Linear with identical outputs") {
  torch::manual_seed(0);
  torch::jit::Module original = scores_module(16, kHfForward);
  torch::jit::Module m = original.clone();
  const auto h = torch::randn({3, 5, 32});
  const at::Tensor before = original.forward({h}).toTensor();

  const auto folded = llmc::passes::fold_attention_scale(m).folded;
  REQUIRE(folded.size() == 1);
  CHECK(folded[0].module.empty());  // the root module
  CHECK(folded[0].linear == "query");
  CHECK(folded[0].divisor == 4.0);
  CHECK(folded[0].exact);
  CHECK(count(m, c10::aten::div) == 0);
  CHECK(count(original, c10::aten::div) == 1);  // the clone's type was rewritten, not the original's
  CHECK(torch::equal(m.forward({h}).toTensor(), before));
}

TEST_CASE("the tiny BERT fixture: every layer folded, outputs within float rounding") {
  torch::jit::Module original = torch::jit::load(llmc::test::fixture("bert_tiny_eval.pt"));
  original.eval();
  torch::jit::Module m = original.clone();
  const auto folded = llmc::passes::fold_attention_scale(m).folded;
  REQUIRE(folded.size() == 2);  // 2 layers
  for (const auto& f : folded) {
    CHECK(f.linear == "query");
    CHECK(f.divisor == doctest::Approx(std::sqrt(32.0)));
    CHECK(!f.exact);
  }
  torch::NoGradGuard no_grad;
  const auto ids = torch::randint(1, 1000, {2, 16}, torch::kLong);
  const auto mask = torch::ones({2, 16}, torch::kLong);
  const auto a = original.forward({ids, mask}).toTensor();
  const auto b = m.forward({ids, mask}).toTensor();
  CHECK((a - b).abs().max().item<double>() < 1e-5);
}

TEST_CASE("DistilBERT style: q / sqrt(dim // heads) before the product") {
  torch::manual_seed(0);
  torch::jit::Module original("Distil");
  original.register_module("q_lin", linear(32, 32));
  original.register_module("k_lin", linear(32, 32));
  original.register_attribute("dim", c10::IntType::get(), int64_t{32});
  original.register_attribute("n_heads", c10::IntType::get(), int64_t{2});
  original.define(R"JIT(
def forward(self, x):
    dph = self.dim // self.n_heads
    q = self.q_lin.forward(x).view(x.size(0), -1, self.n_heads, dph).transpose(1, 2) / dph ** 0.5
    k = self.k_lin.forward(x).view(x.size(0), -1, self.n_heads, dph).transpose(1, 2)
    return torch.matmul(q, k.transpose(2, 3))
)JIT");
  torch::jit::Module m = original.clone();
  const auto x = torch::randn({2, 5, 32});
  const at::Tensor before = original.forward({x}).toTensor();
  const auto folded = llmc::passes::fold_attention_scale(m).folded;
  REQUIRE(folded.size() == 1);
  CHECK(folded[0].linear == "q_lin");
  CHECK(folded[0].divisor == 4.0);  // (32 // 2) ** 0.5
  CHECK(folded[0].exact);
  CHECK(torch::equal(m.forward({x}).toTensor(), before));
}

TEST_CASE("must not fold") {
  torch::manual_seed(0);
  SUBCASE("a divisor known only at run time") {
    torch::jit::Module m = scores_module(16, R"JIT(
def forward(self, h):
    q = self.split_heads(self.query.forward(h))
    k = self.split_heads(self.key.forward(h))
    return torch.matmul(q, k.transpose(-1, -2)) / q.size(-1) ** 0.5
)JIT");
    CHECK(llmc::passes::fold_attention_scale(m).changed == 0);
    CHECK(count(m, c10::aten::div) == 1);
  }
  SUBCASE("the query Linear is called again elsewhere") {
    torch::jit::Module m = scores_module(16, R"JIT(
def forward(self, h):
    q = self.split_heads(self.query.forward(h))
    k = self.split_heads(self.key.forward(h))
    return torch.matmul(q, k.transpose(-1, -2)) / 4.0 + self.query.forward(h).sum()
)JIT");
    // Scaling query would change its second use; the key path is the other operand.
    const auto folded = llmc::passes::fold_attention_scale(m).folded;
    REQUIRE(folded.size() == 1);
    CHECK(folded[0].linear == "key");
  }
  SUBCASE("the scaled value has another use") {
    torch::jit::Module m = scores_module(16, R"JIT(
def forward(self, h):
    q = self.split_heads(self.query.forward(h))
    k = self.split_heads(self.key.forward(h))
    s = torch.matmul(q, k.transpose(-1, -2))
    return s / 4.0 + s
)JIT");
    CHECK(llmc::passes::fold_attention_scale(m).changed == 0);
  }
}
