// Scalars between tensors and Python numbers: NumToTensor, Int, Float, ScalarImplicit, and int
// min/max. A dynamic scalar is a 0-d ONNX tensor (int64 for ints, double for floats).
#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

void register_scalar(Registry& r) {
  for (const char* k : {"prim::NumToTensor", "aten::Int", "aten::Float", "aten::Bool",
                        "aten::ScalarImplicit", "prim::unchecked_cast", "aten::FloatImplicit",
                        "aten::IntImplicit"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      c.out(n->output(), c.in_as(n->input(0), c.dtype(n->output())));
    });
  }
  for (const char* k : {"prim::min", "prim::max"}) {
    r.add(k, [k](LowerContext& c, const Node* n) {
      if (n->inputs().size() != 2) c.unsupported(n, "min/max of a list");
      const auto t = c.dtype(n->output());
      c.emit(n, std::string(k) == "prim::min" ? "Min" : "Max",
             {c.in_as(n->input(0), t), c.in_as(n->input(1), t)});
    });
  }
}

}  // namespace llmc::onnx
