// Activations and softmax. GELU is written as the Div/Erf/Add/Mul chain torch.onnx.export
// emits, which ONNX Runtime fuses into one Gelu kernel (opset 17 has no Gelu op).
#include <cmath>

#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

namespace {

std::string x_of(LowerContext& c, const Node* n) {
  return c.in_as(n->input(0), c.dtype(n->output()));
}

}  // namespace

void register_activation(Registry& r) {
  for (const char* k : {"aten::relu", "aten::relu_"}) {
    r.add(k, [](LowerContext& c, const Node* n) { c.emit(n, "Relu", {x_of(c, n)}); });
  }
  for (const char* k : {"aten::tanh", "aten::tanh_"}) {
    r.add(k, [](LowerContext& c, const Node* n) { c.emit(n, "Tanh", {x_of(c, n)}); });
  }
  for (const char* k : {"aten::sigmoid", "aten::sigmoid_"}) {
    r.add(k, [](LowerContext& c, const Node* n) { c.emit(n, "Sigmoid", {x_of(c, n)}); });
  }
  r.add("aten::silu", [](LowerContext& c, const Node* n) {
    const std::string x = x_of(c, n);
    c.emit(n, "Mul", {x, c.b.node1("Sigmoid", {x})});
  });
  r.add("aten::gelu", [](LowerContext& c, const Node* n) {
    const auto t = c.dtype(n->output());
    const std::string x = x_of(c, n);
    std::string approx = "none";
    if (n->inputs().size() > 1) approx = c.static_arg(n, 1).toStringRef();
    if (approx == "tanh") {
      // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
      const std::string x3 = c.b.node1("Mul", {c.b.node1("Mul", {x, x}), x});
      const std::string inner = c.b.node1(
          "Add", {x, c.b.node1("Mul", {x3, c.b.scalar(0.044715, t)})});
      const std::string th = c.b.node1(
          "Tanh", {c.b.node1("Mul", {inner, c.b.scalar(std::sqrt(2.0 / M_PI), t)})});
      const std::string one_plus = c.b.node1("Add", {th, c.b.scalar(1.0, t)});
      c.emit(n, "Mul", {c.b.node1("Mul", {x, one_plus}), c.b.scalar(0.5, t)});
      return;
    }
    const std::string erf = c.b.node1("Erf", {c.b.node1("Div", {x, c.b.scalar(M_SQRT2, t)})});
    const std::string one_plus = c.b.node1("Add", {erf, c.b.scalar(1.0, t)});
    c.emit(n, "Mul", {c.b.node1("Mul", {x, one_plus}), c.b.scalar(0.5, t)});
  });
  for (const char* k : {"aten::hardtanh", "aten::clamp", "aten::clip", "aten::relu6"}) {
    r.add(k, [k](LowerContext& c, const Node* n) {
      const auto t = c.dtype(n->output());
      std::vector<std::string> ins{x_of(c, n), "", ""};
      if (std::string(k) == "aten::relu6") {
        ins[1] = c.b.scalar(0, t);
        ins[2] = c.b.scalar(6, t);
      } else {
        for (size_t i = 1; i <= 2 && i < n->inputs().size(); ++i) {
          if (!c.is_none(n->input(i))) ins[i] = c.in_as(n->input(i), t);
        }
      }
      while (!ins.empty() && ins.back().empty()) ins.pop_back();
      c.emit(n, "Clip", ins);
    });
  }
  r.add("aten::leaky_relu", [](LowerContext& c, const Node* n) {
    c.emit(n, "LeakyRelu", {x_of(c, n)},
           {attr("alpha", n->inputs().size() > 1 ? c.double_arg(n, 1) : 0.01)});
  });
  r.add("aten::elu", [](LowerContext& c, const Node* n) {
    if (n->inputs().size() > 2 && (c.double_arg(n, 2) != 1.0 || c.double_arg(n, 3) != 1.0)) {
      c.unsupported(n, "elu with scale or input_scale other than 1");
    }
    c.emit(n, "Elu", {x_of(c, n)}, {attr("alpha", c.double_arg(n, 1))});
  });
  r.add("aten::softplus", [](LowerContext& c, const Node* n) {
    if (c.double_arg(n, 1) != 1.0) c.unsupported(n, "softplus with beta other than 1");
    c.emit(n, "Softplus", {x_of(c, n)});
  });
  r.add("aten::hardswish", [](LowerContext& c, const Node* n) {
    c.emit(n, "HardSwish", {x_of(c, n)});
  });
  r.add("aten::hardsigmoid", [](LowerContext& c, const Node* n) {
    c.emit(n, "HardSigmoid", {x_of(c, n)}, {attr("alpha", 1.0 / 6), attr("beta", 0.5)});
  });
  for (const char* k : {"aten::softmax", "aten::log_softmax", "aten::_softmax"}) {
    r.add(k, [k](LowerContext& c, const Node* n) {
      const int64_t axis = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
      const std::string op = std::string(k) == "aten::log_softmax" ? "LogSoftmax" : "Softmax";
      c.emit(n, op, {x_of(c, n)}, {attr("axis", axis)});
    });
  }
}

}  // namespace llmc::onnx
