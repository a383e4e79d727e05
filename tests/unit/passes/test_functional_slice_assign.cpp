// functional_slice_assign: a traced slice assignment becomes cat of the untouched parts and the
// new values, with the same results and no copy_; chains it cannot express are left alone.
#include "torch_doctest.h"

#include <torch/csrc/jit/ir/irparser.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/torch.h>

#include "llmc/passes/functional_slice_assign.h"

namespace {

int count(const torch::jit::Graph& g, const char* kind) {
  int n = 0;
  for (const auto* node : g.nodes()) n += node->kind().toQualString() == std::string(kind) ? 1 : 0;
  return n;
}

std::shared_ptr<torch::jit::Graph> parse(const std::string& ir) {
  auto g = std::make_shared<torch::jit::Graph>();
  torch::jit::parseIR(ir, g.get());
  return g;
}

at::Tensor run(const std::shared_ptr<torch::jit::Graph>& g, std::vector<c10::IValue> inputs) {
  torch::jit::GraphExecutor exec(g->copy(), "test");
  torch::jit::Stack stack(inputs.begin(), inputs.end());
  exec.run(stack);
  return stack.back().toTensor();
}

// x = base.clone(); x[:, :, :, :n] = y; return x * 2  (the shape of transformers' LLaMA mask code)
const char* kAssign = R"IR(
graph(%base : Tensor, %y : Tensor, %n : int):
  %none : NoneType = prim::Constant()
  %0 : int = prim::Constant[value=0]()
  %1 : int = prim::Constant[value=1]()
  %2 : int = prim::Constant[value=2]()
  %3 : int = prim::Constant[value=3]()
  %big : int = prim::Constant[value=9223372036854775807]()
  %false : bool = prim::Constant[value=0]()
  %x : Tensor = aten::clone(%base, %none)
  %a : Tensor = aten::slice(%x, %0, %0, %big, %1)
  %b : Tensor = aten::slice(%a, %1, %0, %big, %1)
  %c : Tensor = aten::slice(%b, %2, %0, %big, %1)
  %d : Tensor = aten::slice(%c, %3, %0, %n, %1)
  %e : Tensor = aten::copy_(%d, %y, %false)
  %out : Tensor = aten::mul(%x, %2)
  return (%out)
)IR";

}  // namespace

TEST_CASE("a slice assignment becomes cat, with the same result") {
  auto g = parse(kAssign);
  const auto base = torch::randn({2, 1, 5, 7});
  const auto y = torch::randn({2, 1, 5, 4});
  const at::Tensor before = run(g, {base, y, int64_t{4}});
  const auto r = llmc::passes::functional_slice_assign(*g);
  CHECK(r.changed == 1);
  CHECK(r.left.empty());
  CHECK(count(*g, "aten::copy_") == 0);
  CHECK(count(*g, "aten::cat") == 1);
  CHECK(torch::equal(run(g, {base, y, int64_t{4}}), before));
  // The end is a value: a different split point works too, and broadcasting of y.
  const auto y1 = torch::randn({1, 1, 1, 7});
  auto g2 = parse(kAssign);
  const at::Tensor all = run(g2, {base, y1, int64_t{7}});
  llmc::passes::functional_slice_assign(*g2);
  CHECK(torch::equal(run(g2, {base, y1, int64_t{7}}), all));
}

TEST_CASE("must not rewrite: used result, two narrowed dims, a view read after the copy") {
  // copy_'s result used.
  auto used = parse(R"IR(
graph(%x : Tensor, %y : Tensor):
  %0 : int = prim::Constant[value=0]()
  %1 : int = prim::Constant[value=1]()
  %2 : int = prim::Constant[value=2]()
  %false : bool = prim::Constant[value=0]()
  %d : Tensor = aten::slice(%x, %0, %0, %2, %1)
  %e : Tensor = aten::copy_(%d, %y, %false)
  return (%e)
)IR");
  CHECK(llmc::passes::functional_slice_assign(*used).left_count() == 1);
  CHECK(count(*used, "aten::copy_") == 1);
  // Two dimensions narrowed.
  auto two = parse(R"IR(
graph(%x : Tensor, %y : Tensor):
  %0 : int = prim::Constant[value=0]()
  %1 : int = prim::Constant[value=1]()
  %2 : int = prim::Constant[value=2]()
  %false : bool = prim::Constant[value=0]()
  %a : Tensor = aten::slice(%x, %0, %0, %2, %1)
  %d : Tensor = aten::slice(%a, %1, %0, %2, %1)
  %e : Tensor = aten::copy_(%d, %y, %false)
  return (%x)
)IR");
  CHECK(llmc::passes::functional_slice_assign(*two).left_count() == 1);
  // Another view of the base, taken before and read after the copy_.
  auto alias = parse(R"IR(
graph(%x : Tensor, %y : Tensor):
  %0 : int = prim::Constant[value=0]()
  %1 : int = prim::Constant[value=1]()
  %2 : int = prim::Constant[value=2]()
  %false : bool = prim::Constant[value=0]()
  %v : Tensor = aten::transpose(%x, %0, %1)
  %d : Tensor = aten::slice(%x, %0, %0, %2, %1)
  %e : Tensor = aten::copy_(%d, %y, %false)
  return (%v)
)IR");
  CHECK(llmc::passes::functional_slice_assign(*alias).left_count() == 1);
  CHECK(count(*alias, "aten::copy_") == 1);
}
