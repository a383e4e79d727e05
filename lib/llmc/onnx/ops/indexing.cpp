// Indexing: slice, select, embedding, index_select, gather, and advanced indexing with integer
// index tensors (one: Gather; several: GatherND). Start and end of a slice may come from dynamic sizes.
#include <algorithm>
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
    if (c.is_static(n->input(0)) && c.static_arg(n, 0).toTensor().is_quantized()) {
      // Rows of a quantized weight (a tied embedding, ops/quantized.cpp): its int8 codes, from
      // the [in, out] initializer its MatMulInteger reads, so the file holds them once.
      const at::Tensor q = c.static_arg(n, 0).toTensor();
      if (axis != 0 || q.dim() != 2 || q.scalar_type() != at::kQInt8 || c.rank(n->input(2)) != 1) {
        c.unsupported(n, "only rows of a 2-D qint8 weight gathered by a 1-D index");
      }
      const std::string codes = c.int8_codes_transposed(q, n->input(0)->debugName() + ".weight_int8");
      const std::string cols = c.b.node1("Gather", {codes, c.in_as(n->input(2), at::kLong)},
                                         {attr("axis", 1)});
      c.emit(n, "Transpose", {cols}, {attr("perm", std::vector<int64_t>{1, 0})});
      return;
    }
    c.emit(n, "Gather", {c.in(n->input(0)), c.in(n->input(2))}, {attr("axis", axis)});
  });
  r.add("aten::gather", [](LowerContext& c, const Node* n) {
    const int64_t axis = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
    c.emit(n, "GatherElements", {c.in(n->input(0)), c.in(n->input(2))}, {attr("axis", axis)});
  });
  r.add("aten::index", [](LowerContext& c, const Node* n) {
    const Value* list = n->input(1);
    if (list->node()->kind() != c10::prim::ListConstruct) {
      c.unsupported(n, "advanced indexing with a computed index list");
    }
    std::vector<int64_t> axes;
    std::vector<const Value*> idx;
    for (size_t i = 0; i < list->node()->inputs().size(); ++i) {
      const Value* e = list->node()->input(i);
      if (c.is_none(e)) continue;
      const auto t = c.dtype(e);
      if (t == at::kBool || t == at::kByte) {
        c.unsupported(n, "boolean-mask indexing: its output size depends on the data");
      }
      axes.push_back(static_cast<int64_t>(i));
      idx.push_back(e);
    }
    if (idx.empty()) c.unsupported(n, "indexing without an index tensor");
    if (idx.size() == 1) {  // x[..., idx, ...]: Gather on that axis
      c.emit(n, "Gather", {c.in(n->input(0)), c.in_as(idx[0], at::kLong)}, {attr("axis", axes[0])});
      return;
    }
    // Several index tensors (x[torch.arange(B), last]): broadcast them to one shape S, stack
    // them into [S..., k] and GatherND over the indexed axes, moved to the front. As in PyTorch,
    // S takes the indexed axes' place when they are adjacent, and goes first otherwise.
    const int64_t rank = c.rank(n->input(0));
    const auto k = static_cast<int64_t>(idx.size());
    std::vector<std::string> ids;
    int64_t s_rank = 0;
    for (const Value* v : idx) {
      ids.push_back(c.in_as(v, at::kLong));
      s_rank = std::max(s_rank, c.rank(v));
    }
    std::string sum = ids[0];
    for (size_t i = 1; i < ids.size(); ++i) sum = c.b.node1("Add", {sum, ids[i]});
    const std::string s_shape = c.b.node1("Shape", {sum});
    std::vector<std::string> stacked;
    for (const auto& id : ids) {
      stacked.push_back(c.b.node1("Unsqueeze", {c.b.node1("Expand", {id, s_shape}),
                                                c.b.const_i64({-1})}));
    }
    const std::string indices = c.b.node1("Concat", stacked, {attr("axis", int64_t{-1})});
    std::vector<int64_t> perm = axes;
    for (int64_t d = 0; d < rank; ++d) {
      if (std::find(axes.begin(), axes.end(), d) == axes.end()) perm.push_back(d);
    }
    bool identity = true;
    for (int64_t d = 0; d < rank; ++d) identity = identity && perm[static_cast<size_t>(d)] == d;
    const std::string data = identity ? c.in(n->input(0))
                                      : c.b.node1("Transpose", {c.in(n->input(0))}, {attr("perm", perm)});
    const bool adjacent = axes.back() - axes.front() + 1 == k;
    const int64_t before = axes.front();
    if (!adjacent || before == 0) {
      c.emit(n, "GatherND", {data, indices});
      return;
    }
    // [S, before, after] -> [before, S, after]
    const std::string gathered = c.b.node1("GatherND", {data, indices});
    std::vector<int64_t> out_perm;
    for (int64_t d = 0; d < before; ++d) out_perm.push_back(s_rank + d);
    for (int64_t d = 0; d < s_rank; ++d) out_perm.push_back(d);
    for (int64_t d = s_rank + before; d < s_rank + rank - k; ++d) out_perm.push_back(d);
    c.emit(n, "Transpose", {gathered}, {attr("perm", out_perm)});
  });
}

}  // namespace llmc::onnx
