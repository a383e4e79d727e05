// Tensors made inside forward: arange, zeros/ones/full (and their _like / new_ forms), tril and
// triu. Their sizes may be dynamic (a causal mask over the sequence length).
#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

namespace {

// A 0-d constant of the output's dtype, broadcast to `shape`.
void fill(LowerContext& c, const Node* n, double value, const std::string& shape) {
  const auto t = c.dtype(n->output());
  c.emit(n, "Expand", {c.b.scalar(value, t), shape});
}

double fill_value(LowerContext& c, const Node* n, size_t i) { return c.double_arg(n, i); }

}  // namespace

void register_creation(Registry& r) {
  r.add("aten::arange", [](LowerContext& c, const Node* n) {
    const auto t = c.dtype(n->output());
    const size_t k = n->inputs().size();  // 5: (end), 6: (start, end), 7: (start, end, step)
    std::string start = c.b.scalar(0, t);
    std::string end;
    std::string step = c.b.scalar(1, t);
    if (k == 5) {
      end = c.in_as(n->input(0), t);
    } else if (k == 6 || k == 7) {
      start = c.in_as(n->input(0), t);
      end = c.in_as(n->input(1), t);
      if (k == 7) step = c.in_as(n->input(2), t);
    } else {
      c.unsupported(n, "this arange overload");
    }
    c.emit(n, "Range", {start, end, step});
  });
  for (const char* k : {"aten::zeros", "aten::ones"}) {
    r.add(k, [k](LowerContext& c, const Node* n) {
      fill(c, n, std::string(k) == "aten::ones" ? 1.0 : 0.0, c.ints_in(n->input(0)));
    });
  }
  r.add("aten::full", [](LowerContext& c, const Node* n) {
    fill(c, n, fill_value(c, n, 1), c.ints_in(n->input(0)));
  });
  for (const char* k : {"aten::zeros_like", "aten::ones_like"}) {
    r.add(k, [k](LowerContext& c, const Node* n) {
      fill(c, n, std::string(k) == "aten::ones_like" ? 1.0 : 0.0,
           c.b.node1("Shape", {c.in(n->input(0))}));
    });
  }
  r.add("aten::full_like", [](LowerContext& c, const Node* n) {
    fill(c, n, fill_value(c, n, 1), c.b.node1("Shape", {c.in(n->input(0))}));
  });
  for (const char* k : {"aten::new_zeros", "aten::new_ones"}) {
    r.add(k, [k](LowerContext& c, const Node* n) {
      fill(c, n, std::string(k) == "aten::new_ones" ? 1.0 : 0.0, c.ints_in(n->input(1)));
    });
  }
  r.add("aten::new_full", [](LowerContext& c, const Node* n) {
    fill(c, n, fill_value(c, n, 2), c.ints_in(n->input(1)));
  });
  for (const char* k : {"aten::tril", "aten::triu"}) {
    r.add(k, [k](LowerContext& c, const Node* n) {
      if (c.b.opset() < 14) c.unsupported(n, "tril/triu need opset 14 or later (Trilu)");
      const int64_t upper = std::string(k) == "aten::triu" ? 1 : 0;
      c.emit(n, "Trilu", {c.in(n->input(0)), c.b.scalar_i64(c.int_arg(n, 1))},
             {attr("upper", upper)});
    });
  }
}

}  // namespace llmc::onnx
