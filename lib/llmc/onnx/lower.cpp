#include "llmc/onnx/lower.h"

#include <set>

#include <fmt/format.h>

#include "llmc/onnx/lower_context.h"
#include "llmc/util/error.h"

namespace llmc::onnx {

namespace prim = c10::prim;

namespace {

void flatten_into(const Value* v, std::vector<const Value*>& out) {
  const Node* n = v->node();
  if (n->kind() == prim::TupleConstruct ||
      (n->kind() == prim::ListConstruct && v->type()->cast<c10::ListType>() &&
       v->type()->expectRef<c10::ListType>().getElementType()->kind() ==
           c10::TypeKind::TensorType)) {
    for (const Value* e : n->inputs()) flatten_into(e, out);
    return;
  }
  out.push_back(v);
}

bool any_dynamic(const LowerContext& c, const Node* n) {
  for (const Value* o : n->outputs()) {
    if (!c.is_static(o)) return true;
  }
  return false;
}

std::vector<std::string> dim_strings(const std::vector<int64_t>& dims,
                                     const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (size_t i = 0; i < dims.size(); ++i) {
    out.push_back(i < names.size() && !names[i].empty() ? names[i] : std::to_string(dims[i]));
  }
  return out;
}

}  // namespace

std::vector<const Value*> flat_outputs(const torch::jit::Graph& graph) {
  std::vector<const Value*> out;
  for (const Value* v : graph.outputs()) flatten_into(v, out);
  return out;
}

Lowered lower_graph(const PreparedGraph& prepared, const Annotation& annotation,
                    const ExportOptions& options, const std::string& model_path) {
  const torch::jit::Graph& g = *prepared.graph;
  ModelBuilder b(options.opset);
  LowerContext c(b, annotation, g, model_path);
  Lowered result;

  // Graph inputs, with their dynamic axes named.
  std::vector<std::pair<std::vector<int64_t>, std::string>> axis_sizes;  // (A,B) sizes -> name
  for (size_t i = 0; i < g.inputs().size(); ++i) {
    const Value* v = g.inputs()[i];
    const std::string arg = prepared.input_names.at(i);
    const std::string name = i < options.input_names.size() ? options.input_names[i] : arg;
    auto names = axis_names(options, arg);
    if (names.empty()) names = axis_names(options, name);
    const auto& inf = c.info(v);
    if (!inf.a.isTensor()) {
      throw InputError(model_path, fmt::format("forward argument `{}` is not a tensor; only "
                                               "tensor inputs can be exported",
                                               arg));
    }
    const auto& ta = inf.a.toTensor();
    const auto& tb = inf.b.toTensor();
    std::vector<int64_t> dims = ta.sizes().vec();
    if (names.size() > dims.size()) {
      throw InputError(model_path, fmt::format("dynamic_axes.{} names {} axes, but the input has "
                                               "{}",
                                               arg, names.size(), dims.size()));
    }
    names.resize(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) {
      if (!names[d].empty()) {
        dims[d] = -1;
        axis_sizes.push_back({{ta.size(static_cast<int64_t>(d)), tb.size(static_cast<int64_t>(d))},
                              names[d]});
      }
    }
    b.reserve(name);
    b.input(name, ta.scalar_type(), dims, names);
    c.out(v, name);
    result.inputs.push_back({name, onnx_dtype_name(onnx_dtype(ta.scalar_type())),
                             dim_strings(dims, names)});
  }
  const auto outs = flat_outputs(g);
  std::vector<std::string> out_names;
  for (size_t i = 0; i < outs.size(); ++i) {
    out_names.push_back(i < options.output_names.size()
                            ? options.output_names[i]
                            : (i == 0 ? std::string("output") : fmt::format("output_{}", i)));
    b.reserve(out_names.back());
  }
  if (options.output_names.size() > outs.size()) {
    throw InputError(model_path, fmt::format("export_onnx.output_names has {} names, but forward "
                                             "returns {} tensors",
                                             options.output_names.size(), outs.size()));
  }

  // Every op without a lowering, at once.
  const Registry& reg = registry();
  std::map<std::string, std::pair<int, std::string>> missing;  // op -> (uses, first location)
  for (const Node* n : g.nodes()) {
    if (!any_dynamic(c, n)) {
      if (n->kind() != prim::Constant) ++result.folded_nodes;
      continue;
    }
    if (!reg.find(n->kind())) {
      auto& m = missing[n->kind().toQualString()];
      if (m.first++ == 0) m.second = where(n);
    }
  }
  if (!missing.empty()) {
    std::string ops, lines;
    for (const auto& [op, m] : missing) {
      ops += (ops.empty() ? "" : ", ") + op;
      lines += fmt::format("\n  {} ({} use{}), first at {}", op, m.first, m.first == 1 ? "" : "s",
                           m.second);
    }
    throw UnsupportedOp(model_path, ops, "",
                        fmt::format("llmc has no ONNX lowering for {} operator{}:{}",
                                    missing.size(), missing.size() == 1 ? "" : "s", lines));
  }
  for (const Node* n : g.nodes()) {
    if (any_dynamic(c, n)) (*reg.find(n->kind()))(c, n);
  }

  for (size_t i = 0; i < outs.size(); ++i) {
    const Value* v = outs[i];
    const auto& inf = c.info(v);
    if (!inf.a.isTensor()) {
      throw InputError(model_path, fmt::format("forward returns a {} (output {}); only tensors "
                                               "(or tuples of them) can be exported",
                                               v->type()->str(), i));
    }
    const auto dims = merged_sizes(inf);
    std::vector<std::string> names(dims.size());
    for (size_t d = 0; d < dims.size(); ++d) {
      if (dims[d] != -1) continue;
      const int64_t sa = inf.a.toTensor().size(static_cast<int64_t>(d));
      const int64_t sb = inf.b.toTensor().size(static_cast<int64_t>(d));
      for (const auto& [sizes, name] : axis_sizes) {
        if (sizes[0] == sa && sizes[1] == sb) {
          names[d] = name;
          break;
        }
      }
      if (names[d].empty()) names[d] = fmt::format("{}_dim{}", out_names[i], d);
    }
    b.node_named("Identity", {c.in(v)}, {out_names[i]});
    b.output(out_names[i], inf.a.toTensor().scalar_type(), dims, names);
    result.outputs.push_back({out_names[i],
                              onnx_dtype_name(onnx_dtype(inf.a.toTensor().scalar_type())),
                              dim_strings(dims, names)});
  }
  // Constants made for a lowering that then took another route are dropped.
  {
    std::set<std::string> used;
    for (const auto& node : b.graph().node()) {
      for (const auto& in : node.input()) used.insert(in);
    }
    for (const auto& o : b.graph().output()) used.insert(o.name());
    auto* inits = b.graph().mutable_initializer();
    for (int i = inits->size() - 1; i >= 0; --i) {
      if (used.count(inits->Get(i).name())) continue;
      b.tensor_data().erase(inits->Get(i).name());
      inits->DeleteSubrange(i, 1);
    }
  }
  for (const auto& node : b.graph().node()) ++result.op_histogram[node.op_type()];
  for (const auto& init : b.graph().initializer()) {
    result.initializer_bytes += tensor_proto_bytes(init);
  }
  result.model = std::move(b.model());
  result.tensor_data = std::move(b.tensor_data());
  return result;
}

}  // namespace llmc::onnx
