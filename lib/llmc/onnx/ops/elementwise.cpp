// Element-wise arithmetic, comparison, logic, where/masked_fill, casts and pass-throughs. Each
// output has the dtype the annotation saw; operands are converted to the dtype the op computes
// in (PyTorch's promotion, read off the run), which ONNX's same-type rule needs.
#include <cmath>

#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

namespace {

// The dtype PyTorch computes a binary op in, from the run-A values of its operands.
at::ScalarType compute_dtype(const LowerContext& c, const Value* x, const Value* y) {
  const auto& a = c.info(x).a;
  const auto& b = c.info(y).a;
  if (a.isTensor() && b.isTensor()) return at::result_type(a.toTensor(), b.toTensor());
  if (a.isTensor() && b.isScalar()) return at::result_type(a.toTensor(), b.toScalar());
  if (a.isScalar() && b.isTensor()) return at::result_type(b.toTensor(), a.toScalar());
  if (a.isScalar() && b.isScalar()) {
    return (a.isDouble() || b.isDouble()) ? at::kDouble : (a.isBool() && b.isBool() ? at::kBool : at::kLong);
  }
  return c.dtype(x);
}

bool is_list(const Value* v) { return v->type()->cast<c10::ListType>() != nullptr; }

void binary(Registry& r, const char* kind, const char* op) {
  r.add(kind, [op](LowerContext& c, const Node* n) {
    if (is_list(n->output()) && std::string(op) == "Add" &&
        n->output()->type()->expectRef<c10::ListType>().getElementType()->kind() ==
            c10::TypeKind::IntType) {  // list concatenation of sizes
      c.emit(n, "Concat", {c.ints_in(n->input(0)), c.ints_in(n->input(1))}, {attr("axis", 0)});
      return;
    }
    if (is_list(n->output()) || n->output()->type()->kind() == c10::TypeKind::StringType) {
      c.unsupported(n, "only numbers and tensors are supported");
    }
    const auto out_t = c.dtype(n->output());
    std::string x = c.in_as(n->input(0), out_t);
    std::string y = c.in_as(n->input(1), out_t);
    if (n->inputs().size() > 2 && !c.is_none(n->input(2))) {  // alpha
      const double alpha = c.double_arg(n, 2);
      if (alpha != 1.0) y = c.b.node1("Mul", {y, c.b.scalar(alpha, out_t)});
    }
    c.emit(n, op, {x, y});
  });
}

void comparison(Registry& r, const char* kind, const char* op, bool negate = false) {
  r.add(kind, [op, negate](LowerContext& c, const Node* n) {
    const auto t = compute_dtype(c, n->input(0), n->input(1));
    std::string res = c.b.node1(op, {c.in_as(n->input(0), t), c.in_as(n->input(1), t)});
    if (negate) res = c.b.node1("Not", {res});
    c.out(n->output(), c.cast(res, at::kBool, c.dtype(n->output())));
  });
}

void logical(Registry& r, const char* kind, const char* op) {
  r.add(kind, [op](LowerContext& c, const Node* n) {
    if (c.dtype(n->output()) != at::kBool) c.unsupported(n, "only boolean operands are supported");
    c.emit(n, op, {c.in_as(n->input(0), at::kBool), c.in_as(n->input(1), at::kBool)});
  });
}

void unary(Registry& r, const char* kind, const char* op) {
  r.add(kind, [op](LowerContext& c, const Node* n) {
    c.emit(n, op, {c.in_as(n->input(0), c.dtype(n->output()))});
  });
}

// Output = input (no node): contiguous, clone, detach, dropout in eval mode, ...
void pass_through(Registry& r, const char* kind) {
  r.add(kind, [](LowerContext& c, const Node* n) {
    c.out(n->output(), c.in_as(n->input(0), c.dtype(n->output())));
  });
}

}  // namespace

void register_elementwise(Registry& r) {
  for (const char* k : {"aten::add", "aten::add_"}) binary(r, k, "Add");
  for (const char* k : {"aten::sub", "aten::sub_"}) binary(r, k, "Sub");
  for (const char* k : {"aten::mul", "aten::mul_"}) binary(r, k, "Mul");
  binary(r, "aten::maximum", "Max");
  binary(r, "aten::minimum", "Min");
  binary(r, "aten::pow", "Pow");
  r.add("aten::rsub", [](LowerContext& c, const Node* n) {  // other - alpha * self
    const auto t = c.dtype(n->output());
    std::string self = c.in_as(n->input(0), t);
    if (n->inputs().size() > 2 && c.double_arg(n, 2) != 1.0) {
      self = c.b.node1("Mul", {self, c.b.scalar(c.double_arg(n, 2), t)});
    }
    c.emit(n, "Sub", {c.in_as(n->input(1), t), self});
  });
  auto div = [](LowerContext& c, const Node* n) {
    const auto out_t = c.dtype(n->output());
    std::string mode;
    if (n->inputs().size() > 2 && !c.is_none(n->input(2))) {
      mode = c.static_arg(n, 2).toStringRef();
    }
    if (mode.empty()) {  // true division, in the (floating) output dtype
      c.emit(n, "Div", {c.in_as(n->input(0), out_t), c.in_as(n->input(1), out_t)});
      return;
    }
    // floor / trunc: divide in floating point, round, convert back.
    const auto ft = at::isFloatingType(out_t) ? out_t : at::kDouble;
    std::string q = c.b.node1("Div", {c.in_as(n->input(0), ft), c.in_as(n->input(1), ft)});
    if (mode == "floor") {
      q = c.b.node1("Floor", {q});
    } else {  // trunc: sign(q) * floor(|q|)
      q = c.b.node1("Mul", {c.b.node1("Sign", {q}), c.b.node1("Floor", {c.b.node1("Abs", {q})})});
    }
    c.out(n->output(), c.cast(q, ft, out_t));
  };
  r.add("aten::div", div);
  r.add("aten::div_", div);
  auto floordiv = [](LowerContext& c, const Node* n) {
    const auto out_t = c.dtype(n->output());
    const auto ft = at::isFloatingType(out_t) ? out_t : at::kDouble;
    std::string q = c.b.node1("Floor", {c.b.node1("Div", {c.in_as(n->input(0), ft),
                                                          c.in_as(n->input(1), ft)})});
    c.out(n->output(), c.cast(q, ft, out_t));
  };
  r.add("aten::floordiv", floordiv);
  r.add("aten::floor_divide", floordiv);

  comparison(r, "aten::eq", "Equal");
  comparison(r, "aten::ne", "Equal", /*negate=*/true);
  comparison(r, "aten::lt", "Less");
  comparison(r, "aten::le", "LessOrEqual");
  comparison(r, "aten::gt", "Greater");
  comparison(r, "aten::ge", "GreaterOrEqual");
  for (const char* k : {"aten::logical_and", "aten::__and__", "aten::bitwise_and"}) logical(r, k, "And");
  for (const char* k : {"aten::logical_or", "aten::__or__", "aten::bitwise_or"}) logical(r, k, "Or");
  logical(r, "aten::logical_xor", "Xor");
  for (const char* k : {"aten::logical_not", "aten::bitwise_not"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      if (c.dtype(n->output()) != at::kBool) c.unsupported(n, "only boolean operands are supported");
      c.emit(n, "Not", {c.in_as(n->input(0), at::kBool)});
    });
  }

  r.add("aten::where", [](LowerContext& c, const Node* n) {
    if (n->inputs().size() != 3) c.unsupported(n, "where(condition) with one argument");
    const auto t = c.dtype(n->output());
    c.emit(n, "Where", {c.in_as(n->input(0), at::kBool), c.in_as(n->input(1), t),
                        c.in_as(n->input(2), t)});
  });
  for (const char* k : {"aten::masked_fill", "aten::masked_fill_"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      const auto t = c.dtype(n->output());
      c.emit(n, "Where", {c.in_as(n->input(1), at::kBool), c.in_as(n->input(2), t),
                          c.in_as(n->input(0), t)});
    });
  }

  unary(r, "aten::neg", "Neg");
  unary(r, "aten::exp", "Exp");
  unary(r, "aten::log", "Log");
  unary(r, "aten::sqrt", "Sqrt");
  unary(r, "aten::reciprocal", "Reciprocal");
  unary(r, "aten::abs", "Abs");
  unary(r, "aten::sin", "Sin");
  unary(r, "aten::cos", "Cos");
  unary(r, "aten::erf", "Erf");
  unary(r, "aten::floor", "Floor");
  unary(r, "aten::ceil", "Ceil");
  unary(r, "aten::sign", "Sign");
  // 1 / sqrt(x) as a division, the way torch.onnx.export writes it: ONNX Runtime's RMSNorm fusion
  // (SimplifiedLayerNormFusion: Pow, ReduceMean, Add, Sqrt, Div, Mul) matches that spelling and
  // not Reciprocal, and leaves LLaMA's RMSNorm as six kernels otherwise.
  r.add("aten::rsqrt", [](LowerContext& c, const Node* n) {
    const auto t = c.dtype(n->output());
    c.emit(n, "Div", {c.b.scalar(1.0, t), c.b.node1("Sqrt", {c.in_as(n->input(0), t)})});
  });
  r.add("aten::square", [](LowerContext& c, const Node* n) {
    const std::string x = c.in_as(n->input(0), c.dtype(n->output()));
    c.emit(n, "Mul", {x, x});
  });

  for (const char* k : {"aten::contiguous", "aten::clone", "aten::detach", "aten::alias",
                        "aten::to", "aten::type_as", "aten::float", "aten::long", "aten::int",
                        "aten::bool", "aten::half", "aten::double", "aten::lift_fresh"}) {
    pass_through(r, k);
  }
  for (const char* k : {"aten::dropout", "aten::feature_dropout", "aten::alpha_dropout"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      if (c.bool_arg(n, 2)) {
        c.unsupported(n, "dropout with train=True is random: export a model in eval mode");
      }
      c.out(n->output(), c.in(n->input(0)));
    });
  }
}

}  // namespace llmc::onnx
