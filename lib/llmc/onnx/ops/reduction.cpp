// Reductions: mean, sum, amax/amin, max/min (values and indices), argmax/argmin, cumsum.
// Up to opset 17 ReduceMean/Max/Min take their axes as an attribute, ReduceSum as an input.
#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

namespace {

std::vector<int64_t> dims_of(LowerContext& c, const Node* n, size_t i) {
  if (i >= n->inputs().size() || c.is_none(n->input(i))) return {};
  auto dims = c.ints_arg(n, i);
  for (auto& d : dims) d = c.norm_dim(d, c.rank(n->input(0)));
  return dims;
}

void reduce(LowerContext& c, const Node* n, const std::string& op, const std::vector<int64_t>& axes,
            bool keepdim, size_t index = 0) {
  const auto t = c.dtype(n->outputs()[index]);
  const std::string x = c.in_as(n->input(0), t);
  std::vector<Attr> attrs{attr("keepdims", keepdim ? 1 : 0)};
  std::vector<std::string> ins{x};
  if (!axes.empty()) {
    if (op == "ReduceSum") {
      ins.push_back(c.b.const_i64(axes));
    } else {
      attrs.push_back(attr("axes", axes));
    }
  }
  c.emit(n, op, ins, attrs, index);
}

}  // namespace

void register_reduction(Registry& r) {
  r.add("aten::mean", [](LowerContext& c, const Node* n) {
    const bool keep = n->inputs().size() > 2 && c.bool_arg(n, 2);
    reduce(c, n, "ReduceMean", n->inputs().size() > 2 ? dims_of(c, n, 1) : std::vector<int64_t>{},
           keep);
  });
  r.add("aten::sum", [](LowerContext& c, const Node* n) {
    const bool keep = n->inputs().size() > 2 && c.bool_arg(n, 2);
    reduce(c, n, "ReduceSum", n->inputs().size() > 2 ? dims_of(c, n, 1) : std::vector<int64_t>{},
           keep);
  });
  for (const char* k : {"aten::amax", "aten::amin"}) {
    r.add(k, [k](LowerContext& c, const Node* n) {
      reduce(c, n, std::string(k) == "aten::amax" ? "ReduceMax" : "ReduceMin", dims_of(c, n, 1),
             c.bool_arg(n, 2));
    });
  }
  for (const char* k : {"aten::max", "aten::min"}) {
    r.add(k, [k](LowerContext& c, const Node* n) {
      const bool is_max = std::string(k) == "aten::max";
      if (n->inputs().size() == 1) {  // over everything
        reduce(c, n, is_max ? "ReduceMax" : "ReduceMin", {}, false);
        return;
      }
      if (n->outputs().size() == 1) {  // element-wise max(a, b)
        const auto t = c.dtype(n->output());
        c.emit(n, is_max ? "Max" : "Min", {c.in_as(n->input(0), t), c.in_as(n->input(1), t)});
        return;
      }
      const int64_t d = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
      const bool keep = c.bool_arg(n, 2);
      reduce(c, n, is_max ? "ReduceMax" : "ReduceMin", {d}, keep, 0);
      c.emit(n, is_max ? "ArgMax" : "ArgMin", {c.in(n->input(0))},
             {attr("axis", d), attr("keepdims", keep ? 1 : 0)}, 1);
    });
  }
  for (const char* k : {"aten::argmax", "aten::argmin"}) {
    r.add(k, [k](LowerContext& c, const Node* n) {
      const std::string op = std::string(k) == "aten::argmax" ? "ArgMax" : "ArgMin";
      std::string x = c.in(n->input(0));
      int64_t axis = 0;
      if (c.is_none(n->input(1))) {
        x = c.b.node1("Reshape", {x, c.b.const_i64({-1})});
      } else {
        axis = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
      }
      c.emit(n, op, {x}, {attr("axis", axis), attr("keepdims", c.bool_arg(n, 2) ? 1 : 0)});
    });
  }
  r.add("aten::cumsum", [](LowerContext& c, const Node* n) {
    const auto t = c.dtype(n->output());
    const int64_t d = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
    c.emit(n, "CumSum", {c.in_as(n->input(0), t), c.b.scalar_i64(d)});
  });
}

}  // namespace llmc::onnx
