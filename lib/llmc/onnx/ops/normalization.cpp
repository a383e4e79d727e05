// layer_norm (LayerNormalization at opset 17, the ReduceMean chain below it) and batch_norm in
// eval mode (BatchNormalization; after convolutions freezing has usually folded it away).
#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

namespace {

// weight / bias of a norm, or ones / zeros of `shape` when the module has none.
std::string param_or(LowerContext& c, const Value* v, const std::vector<int64_t>& shape,
                     double fill, at::ScalarType t) {
  if (!c.is_none(v)) return c.in_as(v, t);
  return c.b.initializer(at::full(shape, fill, at::TensorOptions().dtype(t)), "norm_default");
}

}  // namespace

void register_normalization(Registry& r) {
  r.add("aten::layer_norm", [](LowerContext& c, const Node* n) {
    const auto t = c.dtype(n->output());
    const auto normalized = c.ints_arg(n, 1);
    const double eps = c.double_arg(n, 4);
    const std::string x = c.in_as(n->input(0), t);
    const std::string w = param_or(c, n->input(2), normalized, 1.0, t);
    const std::string b = param_or(c, n->input(3), normalized, 0.0, t);
    const auto k = static_cast<int64_t>(normalized.size());
    if (c.b.opset() >= 17) {
      c.emit(n, "LayerNormalization", {x, w, b}, {attr("axis", -k), attr("epsilon", eps)});
      return;
    }
    std::vector<int64_t> axes;
    for (int64_t i = -k; i < 0; ++i) axes.push_back(i);
    const std::string mean = c.b.node1("ReduceMean", {x}, {attr("axes", axes), attr("keepdims", 1)});
    const std::string d = c.b.node1("Sub", {x, mean});
    const std::string var = c.b.node1("ReduceMean", {c.b.node1("Mul", {d, d})},
                                      {attr("axes", axes), attr("keepdims", 1)});
    const std::string denom = c.b.node1("Sqrt", {c.b.node1("Add", {var, c.b.scalar(eps, t)})});
    const std::string y = c.b.node1("Mul", {c.b.node1("Div", {d, denom}), w});
    c.emit(n, "Add", {y, b});
  });
  r.add("aten::batch_norm", [](LowerContext& c, const Node* n) {
    if (c.bool_arg(n, 5)) {
      c.unsupported(n, "batch_norm with training=True uses batch statistics: export in eval mode");
    }
    const auto t = c.dtype(n->output());
    const auto& mean = c.info(n->input(3)).a;
    if (!mean.isTensor()) c.unsupported(n, "batch_norm without running statistics");
    const std::vector<int64_t> shape{mean.toTensor().size(0)};
    c.emit(n, "BatchNormalization",
           {c.in_as(n->input(0), t), param_or(c, n->input(1), shape, 1.0, t),
            param_or(c, n->input(2), shape, 0.0, t), c.in_as(n->input(3), t),
            c.in_as(n->input(4), t)},
           {attr("epsilon", c.double_arg(n, 7))});
  });
}

}  // namespace llmc::onnx
