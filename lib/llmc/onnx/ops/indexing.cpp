// Indexing: slice, select, embedding, index_select, gather, and advanced indexing with one
// integer index tensor. Start and end of a slice may come from dynamic sizes.
#include <limits>

#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

namespace {

// A 1-element int64 tensor from a static or dynamic int (or its default when None).
std::string one_int(LowerContext& c, const Value* v, int64_t if_none) {
  if (c.is_none(v)) return c.b.const_i64({if_none});
  if (c.is_static(v)) {
    const auto& a = c.info(v).a;
    return c.b.const_i64({a.isTensor() ? a.toTensor().item<int64_t>() : a.toInt()});
  }
  return c.b.node1("Unsqueeze", {c.in_as(v, at::kLong), c.b.const_i64({0})});
}

}  // namespace

void register_indexing(Registry& r) {
  r.add("aten::slice", [](LowerContext& c, const Node* n) {
    if (auto lt = n->input(0)->type()->cast<c10::ListType>()) {  // a slice of a list of sizes
      if (lt->getElementType()->kind() != c10::TypeKind::IntType) c.unsupported(n, "slicing a list");
      const int64_t step = n->inputs().size() > 3 ? c.int_arg(n, 3) : 1;
      c.emit(n, "Slice", {c.ints_in(n->input(0)), one_int(c, n->input(1), 0),
                          one_int(c, n->input(2), std::numeric_limits<int64_t>::max()),
                          c.b.const_i64({0}), c.b.const_i64({step})});
      return;
    }
    const int64_t axis = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
    const std::string start = one_int(c, n->input(2), 0);
    const std::string end = one_int(c, n->input(3), std::numeric_limits<int64_t>::max());
    const int64_t step = n->inputs().size() > 4 ? c.int_arg(n, 4) : 1;
    // A full slice (0:INT64_MAX:1) is the identity.
    if (c.is_static(n->input(2)) && c.is_static(n->input(3)) && step == 1 &&
        (c.is_none(n->input(2)) || c.info(n->input(2)).a.toInt() == 0) &&
        (c.is_none(n->input(3)) ||
         c.info(n->input(3)).a.toInt() == std::numeric_limits<int64_t>::max())) {
      c.out(n->output(), c.in(n->input(0)));
      return;
    }
    c.emit(n, "Slice", {c.in(n->input(0)), start, end, c.b.const_i64({axis}),
                        c.b.const_i64({step})});
  });
  r.add("aten::select", [](LowerContext& c, const Node* n) {
    const int64_t axis = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
    const Value* index = n->input(2);
    const std::string idx = c.is_static(index) ? c.b.scalar_i64(c.int_arg(n, 2))
                                               : c.in_as(index, at::kLong);
    c.emit(n, "Gather", {c.in(n->input(0)), idx}, {attr("axis", axis)});
  });
  r.add("aten::embedding", [](LowerContext& c, const Node* n) {
    c.emit(n, "Gather", {c.in(n->input(0)), c.in(n->input(1))}, {attr("axis", 0)});
  });
  r.add("aten::index_select", [](LowerContext& c, const Node* n) {
    const int64_t axis = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
    c.emit(n, "Gather", {c.in(n->input(0)), c.in(n->input(2))}, {attr("axis", axis)});
  });
  r.add("aten::gather", [](LowerContext& c, const Node* n) {
    const int64_t axis = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
    c.emit(n, "GatherElements", {c.in(n->input(0)), c.in(n->input(2))}, {attr("axis", axis)});
  });
  r.add("aten::index", [](LowerContext& c, const Node* n) {
    // x[..., idx, ...] with a single integer index tensor: Gather on that axis.
    const Value* list = n->input(1);
    if (list->node()->kind() != c10::prim::ListConstruct) {
      c.unsupported(n, "advanced indexing with a computed index list");
    }
    int64_t axis = -1;
    const Value* idx = nullptr;
    for (size_t i = 0; i < list->node()->inputs().size(); ++i) {
      const Value* e = list->node()->input(i);
      if (c.is_none(e)) continue;
      if (idx) c.unsupported(n, "advanced indexing with more than one index tensor");
      axis = static_cast<int64_t>(i);
      idx = e;
    }
    if (!idx) c.unsupported(n, "indexing without an index tensor");
    const auto t = c.dtype(idx);
    if (t == at::kBool || t == at::kByte) {
      c.unsupported(n, "boolean-mask indexing: its output size depends on the data");
    }
    c.emit(n, "Gather", {c.in(n->input(0)), c.in_as(idx, at::kLong)}, {attr("axis", axis)});
  });
}

}  // namespace llmc::onnx
