// Shape and layout: size, view/reshape, permute/transpose, (un)squeeze, flatten, expand, cat,
// stack, split/chunk/unbind, repeat, repeat_interleave, and the list plumbing (ListUnpack, __getitem__). Sizes on
// dynamic axes are computed in the graph (Shape -> Gather), never baked in.
#include <limits>

#include <fmt/format.h>

#include "llmc/onnx/lower_context.h"

namespace llmc::onnx {

namespace {

// Sizes of the pieces a split/chunk produced in run A (and checks they do not vary).
std::vector<int64_t> piece_sizes(LowerContext& c, const Node* n, int64_t axis) {
  const auto& inf = c.info(n->output());
  std::vector<int64_t> sizes;
  for (const at::Tensor& t : inf.a.toTensorList()) sizes.push_back(t.size(axis));
  if (inf.b.isTensorList()) {
    std::vector<int64_t> b;
    for (const at::Tensor& t : inf.b.toTensorList()) b.push_back(t.size(axis));
    if (b != sizes) {
      c.unsupported(n, "split along a dynamic axis: the pieces change with the input size");
    }
  }
  return sizes;
}

void split_into(LowerContext& c, const Node* n, int64_t axis, const std::vector<int64_t>& sizes,
                bool squeeze) {
  auto outs = c.b.node("Split", {c.in(n->input(0)), c.b.const_i64(sizes)}, sizes.size(),
                       {attr("axis", axis)});
  if (squeeze) {
    for (auto& o : outs) o = c.b.node1("Squeeze", {o, c.b.const_i64({axis})});
  }
  c.out_list(n->output(), outs);
}

}  // namespace

void register_shape(Registry& r) {
  for (const char* k : {"aten::size", "aten::sym_size"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      const std::string shape = c.b.node1("Shape", {c.in(n->input(0))});
      if (n->inputs().size() == 1) {
        c.out(n->output(), shape);
        return;
      }
      const int64_t d = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
      c.emit(n, "Gather", {shape, c.b.scalar_i64(d)}, {attr("axis", 0)});
    });
  }
  for (const char* k : {"aten::view", "aten::reshape", "aten::_reshape_alias"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      c.emit(n, "Reshape", {c.in(n->input(0)), c.ints_in(n->input(1))});
    });
  }
  for (const char* k : {"aten::view_as", "aten::reshape_as"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      c.emit(n, "Reshape", {c.in(n->input(0)), c.b.node1("Shape", {c.in(n->input(1))})});
    });
  }
  r.add("aten::permute", [](LowerContext& c, const Node* n) {
    auto perm = c.ints_arg(n, 1);
    const int64_t rank = c.rank(n->input(0));
    for (auto& p : perm) p = c.norm_dim(p, rank);
    c.emit(n, "Transpose", {c.in(n->input(0))}, {attr("perm", perm)});
  });
  r.add("aten::transpose", [](LowerContext& c, const Node* n) {
    const int64_t rank = c.rank(n->input(0));
    const int64_t a = c.norm_dim(c.int_arg(n, 1), rank);
    const int64_t b = c.norm_dim(c.int_arg(n, 2), rank);
    std::vector<int64_t> perm(static_cast<size_t>(rank));
    for (int64_t i = 0; i < rank; ++i) perm[i] = i;
    std::swap(perm[a], perm[b]);
    c.emit(n, "Transpose", {c.in(n->input(0))}, {attr("perm", perm)});
  });
  r.add("aten::unsqueeze", [](LowerContext& c, const Node* n) {
    const int64_t d = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)) + 1);
    c.emit(n, "Unsqueeze", {c.in(n->input(0)), c.b.const_i64({d})});
  });
  r.add("aten::squeeze", [](LowerContext& c, const Node* n) {
    const auto shape = c.shape(n->input(0));
    std::vector<int64_t> axes;
    if (n->inputs().size() == 1) {
      for (size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == 1) axes.push_back(static_cast<int64_t>(i));
      }
    } else {
      const int64_t d = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
      if (shape[d] == -1) c.unsupported(n, "squeeze of a dynamic axis");
      if (shape[d] == 1) axes.push_back(d);  // torch: a no-op when the size is not 1
    }
    if (axes.empty()) {
      c.out(n->output(), c.in(n->input(0)));
      return;
    }
    c.emit(n, "Squeeze", {c.in(n->input(0)), c.b.const_i64(axes)});
  });
  r.add("aten::flatten", [](LowerContext& c, const Node* n) {
    const auto shape = c.shape(n->input(0));
    const auto rank = static_cast<int64_t>(shape.size());
    if (rank == 0) {
      c.emit(n, "Reshape", {c.in(n->input(0)), c.b.const_i64({1})});
      return;
    }
    const int64_t start = c.norm_dim(c.int_arg(n, 1), rank);
    const int64_t end = c.norm_dim(c.int_arg(n, 2), rank);
    if (end == rank - 1 && start <= 1) {
      if (start == 0) {
        c.emit(n, "Reshape", {c.in(n->input(0)), c.b.const_i64({-1})});
      } else {
        c.emit(n, "Flatten", {c.in(n->input(0))}, {attr("axis", 1)});
      }
      return;
    }
    std::vector<int64_t> target;
    for (int64_t i = 0; i < start; ++i) target.push_back(0);  // 0: copy the input's size
    target.push_back(-1);
    for (int64_t i = end + 1; i < rank; ++i) {
      if (shape[i] < 0) c.unsupported(n, "flatten with a dynamic axis after the flattened ones");
      target.push_back(shape[i]);
    }
    c.emit(n, "Reshape", {c.in(n->input(0)), c.b.const_i64(target)});
  });
  r.add("aten::expand", [](LowerContext& c, const Node* n) {
    // torch's -1 keeps a size; in ONNX's broadcasting Expand a 1 does the same.
    std::string shape;
    const Value* sizes = n->input(1);
    if (c.is_static(sizes)) {
      auto v = c.ints_arg(n, 1);
      for (auto& s : v) s = s == -1 ? 1 : s;
      shape = c.b.const_i64(v);
    } else if (sizes->node()->kind() == c10::prim::ListConstruct) {
      std::vector<std::string> parts;
      for (const Value* e : sizes->node()->inputs()) {
        if (c.is_static(e)) {
          const int64_t s = c.info(e).a.toInt();
          parts.push_back(c.b.const_i64({s == -1 ? 1 : s}));
        } else {
          parts.push_back(c.b.node1("Unsqueeze", {c.in_as(e, at::kLong), c.b.const_i64({0})}));
        }
      }
      shape = c.b.node1("Concat", parts, {attr("axis", 0)});
    } else {
      shape = c.ints_in(sizes);
    }
    c.emit(n, "Expand", {c.in(n->input(0)), shape});
  });
  r.add("aten::expand_as", [](LowerContext& c, const Node* n) {
    c.emit(n, "Expand", {c.in(n->input(0)), c.b.node1("Shape", {c.in(n->input(1))})});
  });
  r.add("aten::repeat", [](LowerContext& c, const Node* n) {
    const auto reps = c.ints_arg(n, 1);
    std::string x = c.in(n->input(0));
    const int64_t rank = c.rank(n->input(0));
    if (static_cast<int64_t>(reps.size()) > rank) {
      std::vector<int64_t> axes;
      for (int64_t i = 0; i < static_cast<int64_t>(reps.size()) - rank; ++i) axes.push_back(i);
      x = c.b.node1("Unsqueeze", {x, c.b.const_i64(axes)});
    }
    c.emit(n, "Tile", {x, c.b.const_i64(reps)});
  });
  // repeat_interleave(x, repeats, dim) with one static repeat count (LLaMA's grouped-query
  // attention repeats each key/value head for its query heads): Unsqueeze after dim, Tile it,
  // Reshape the two axes into one. Target: x's shape with dim multiplied, dynamic dims read off
  // Shape(x).
  r.add("aten::repeat_interleave", [](LowerContext& c, const Node* n) {
    if (n->inputs().size() < 3 || c.is_none(n->input(2))) {
      c.unsupported(n, "repeat_interleave without dim (it flattens the input)");
    }
    int64_t repeats = 0;
    if (n->input(1)->type()->kind() == c10::TypeKind::IntType) {
      repeats = c.int_arg(n, 1);
    } else {
      const c10::IValue t = c.static_arg(n, 1);
      const at::Tensor reps = t.toTensor().flatten();
      if (reps.numel() == 0 || !reps.eq(reps[0]).all().item<bool>()) {
        c.unsupported(n, "repeat_interleave with different repeat counts per element");
      }
      repeats = reps[0].item<int64_t>();
    }
    const int64_t rank = c.rank(n->input(0));
    const int64_t d = c.norm_dim(c.int_arg(n, 2), rank);
    const std::string x = c.in(n->input(0));
    const std::string shape = c.b.node1("Shape", {x});
    const auto piece = [&](int64_t from, int64_t to) {
      return c.b.node1("Slice", {shape, c.b.const_i64({from}), c.b.const_i64({to}),
                                 c.b.const_i64({0})});
    };
    const int64_t size = c.shape(n->input(0))[static_cast<size_t>(d)];
    const std::string merged = size >= 0 ? c.b.const_i64({size * repeats})
                                         : c.b.node1("Mul", {piece(d, d + 1),
                                                             c.b.const_i64({repeats})});
    const std::string target =
        c.b.node1("Concat", {piece(0, d), merged, piece(d + 1, std::numeric_limits<int64_t>::max())},
                  {attr("axis", 0)});
    std::vector<int64_t> tiles(static_cast<size_t>(rank + 1), 1);
    tiles[static_cast<size_t>(d + 1)] = repeats;
    const std::string tiled =
        c.b.node1("Tile", {c.b.node1("Unsqueeze", {x, c.b.const_i64({d + 1})}), c.b.const_i64(tiles)});
    c.emit(n, "Reshape", {tiled, target});
  });
  r.add("aten::cat", [](LowerContext& c, const Node* n) {
    const auto t = c.dtype(n->output());
    std::vector<std::string> ins;
    const Value* list = n->input(0);
    if (list->node()->kind() == c10::prim::ListConstruct) {
      for (const Value* e : list->node()->inputs()) ins.push_back(c.in_as(e, t));
    } else {
      ins = c.list_in(list);
    }
    const int64_t axis = c.norm_dim(c.int_arg(n, 1), c.rank(n->output()));
    c.emit(n, "Concat", ins, {attr("axis", axis)});
  });
  r.add("aten::stack", [](LowerContext& c, const Node* n) {
    const int64_t axis = c.norm_dim(c.int_arg(n, 1), c.rank(n->output()));
    std::vector<std::string> ins;
    for (const auto& e : c.list_in(n->input(0))) {
      ins.push_back(c.b.node1("Unsqueeze", {e, c.b.const_i64({axis})}));
    }
    c.emit(n, "Concat", ins, {attr("axis", axis)});
  });
  for (const char* k : {"aten::split", "aten::split_with_sizes", "aten::chunk",
                        "aten::tensor_split"}) {
    r.add(k, [](LowerContext& c, const Node* n) {
      if (!n->output()->type()->cast<c10::ListType>()) c.unsupported(n, "split of a non-tensor");
      const int64_t axis = c.norm_dim(c.int_arg(n, 2), c.rank(n->input(0)));
      split_into(c, n, axis, piece_sizes(c, n, axis), false);
    });
  }
  r.add("aten::unbind", [](LowerContext& c, const Node* n) {
    const int64_t axis = c.norm_dim(c.int_arg(n, 1), c.rank(n->input(0)));
    const auto sizes = piece_sizes(c, n, axis);
    split_into(c, n, axis, std::vector<int64_t>(sizes.size(), 1), true);
  });

  // Lists: construct lazily (the consumer decides: Concat of sizes, or a list of tensors).
  r.add("prim::ListConstruct", [](LowerContext&, const Node*) {});
  r.add("prim::TupleConstruct", [](LowerContext&, const Node*) {});
  r.add("prim::ListUnpack", [](LowerContext& c, const Node* n) {
    const Value* list = n->input(0);
    const auto elem = list->type()->expectRef<c10::ListType>().getElementType();
    if (elem->kind() == c10::TypeKind::TensorType) {
      const auto names = c.list_in(list);
      for (size_t i = 0; i < n->outputs().size(); ++i) c.out(n->outputs()[i], names.at(i));
      return;
    }
    const std::string all = c.ints_in(list);
    for (size_t i = 0; i < n->outputs().size(); ++i) {
      if (!c.is_static(n->outputs()[i])) {
        c.emit(n, "Gather", {all, c.b.scalar_i64(static_cast<int64_t>(i))}, {attr("axis", 0)}, i);
      }
    }
  });
  r.add("aten::__getitem__", [](LowerContext& c, const Node* n) {
    const Value* list = n->input(0);
    const auto lt = list->type()->cast<c10::ListType>();
    if (!lt) c.unsupported(n, "indexing of a non-list");
    const int64_t i = c.int_arg(n, 1);
    if (lt->getElementType()->kind() == c10::TypeKind::TensorType) {
      const auto names = c.list_in(list);
      const int64_t k = i < 0 ? i + static_cast<int64_t>(names.size()) : i;
      c.out(n->output(), names.at(static_cast<size_t>(k)));
      return;
    }
    c.emit(n, "Gather", {c.ints_in(list), c.b.scalar_i64(i)}, {attr("axis", 0)});
  });
}

}  // namespace llmc::onnx
