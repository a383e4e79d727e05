// linear, matmul, mm, bmm, addmm, t. A Linear whose weight is used only by it stores the weight
// transposed once (as torch.onnx.export does); a weight shared with another op (tied
// embeddings) stays one initializer, with a Transpose node in front of the MatMul.
#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

namespace {

// W^T for x @ W^T.
std::string transposed_weight(LowerContext& c, const Value* w) {
  const auto& inf = c.info(w);
  if (!inf.dynamic && inf.a.isTensor() && w->uses().size() == 1 && !c.bound(w)) {
    const at::Tensor t = inf.a.toTensor();
    // A view: its bytes are laid out transposed only when the file is written.
    if (t.dim() == 2) return c.b.initializer(t.t(), w->debugName() + ".T");
  }
  return c.b.node1("Transpose", {c.in(w)}, {attr("perm", std::vector<int64_t>{1, 0})});
}

}  // namespace

void register_matmul(Registry& r) {
  r.add("aten::linear", [](LowerContext& c, const Node* n) {
    const auto t = c.dtype(n->output());
    const std::string x = c.in_as(n->input(0), t);
    const bool has_bias = n->inputs().size() > 2 && !c.is_none(n->input(2));
    if (c.rank(n->input(0)) == 2) {
      std::vector<std::string> ins{x, c.in_as(n->input(1), t)};
      if (has_bias) ins.push_back(c.in_as(n->input(2), t));
      c.emit(n, "Gemm", ins, {attr("transB", 1)});
      return;
    }
    const std::string y = c.b.node1("MatMul", {x, transposed_weight(c, n->input(1))});
    if (!has_bias) {
      c.out(n->output(), y);
      return;
    }
    c.emit(n, "Add", {c.in_as(n->input(2), t), y});
  });
  for (const char* k : {"aten::matmul", "aten::mm", "aten::bmm"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      const auto t = c.dtype(n->output());
      c.emit(n, "MatMul", {c.in_as(n->input(0), t), c.in_as(n->input(1), t)});
    });
  }
  r.add("aten::addmm", [](LowerContext& c, const Node* n) {
    const auto t = c.dtype(n->output());
    const double beta = n->inputs().size() > 3 ? c.double_arg(n, 3) : 1.0;
    const double alpha = n->inputs().size() > 4 ? c.double_arg(n, 4) : 1.0;
    c.emit(n, "Gemm",
           {c.in_as(n->input(1), t), c.in_as(n->input(2), t), c.in_as(n->input(0), t)},
           {attr("alpha", alpha), attr("beta", beta)});
  });
  for (const char* k : {"aten::t", "aten::numpy_T"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      if (c.rank(n->input(0)) < 2) {
        c.out(n->output(), c.in(n->input(0)));
        return;
      }
      c.emit(n, "Transpose", {c.in(n->input(0))}, {attr("perm", std::vector<int64_t>{1, 0})});
    });
  }
}

}  // namespace llmc::onnx
