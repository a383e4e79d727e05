#include "llmc/onnx/lower_context.h"

#include <fmt/format.h>

#include "llmc/onnx/prepare.h"
#include "llmc/util/error.h"

namespace llmc::onnx {

namespace prim = c10::prim;
namespace aten = c10::aten;

LowerContext::LowerContext(ModelBuilder& builder, const Annotation& annotation,
                           const torch::jit::Graph& graph, std::string model_path)
    : b(builder), ann_(annotation), path_(std::move(model_path)) {
  for (const Node* n : graph.nodes()) {
    if (n->kind() != prim::Constant || !n->output()->type()->cast<c10::TensorType>()) continue;
    const auto& info = ann_.at(n->output());
    if (!info.a.isTensor()) continue;
    const at::Tensor t = info.a.toTensor();
    if (!t.defined() || !t.has_storage()) continue;
    if (!t.is_contiguous()) continue;  // a view (e.g. a folded transpose) is not a base
    bases_.emplace(t.storage().data(), std::make_pair(t, n->output()));
  }
}

void LowerContext::unsupported(const Node* n, const std::string& why) const {
  throw UnsupportedOp(path_, n->kind().toQualString(), where(n), why);
}

c10::IValue LowerContext::static_arg(const Node* n, size_t i) const {
  const auto& inf = info(n->input(i));
  if (inf.dynamic) {
    unsupported(n, fmt::format("argument {} depends on the inputs; only a constant is supported "
                               "here",
                               i));
  }
  return inf.a;
}

int64_t LowerContext::int_arg(const Node* n, size_t i) const {
  const auto v = static_arg(n, i);
  if (v.isTensor()) return v.toTensor().item<int64_t>();
  return v.toInt();
}

double LowerContext::double_arg(const Node* n, size_t i) const {
  const auto v = static_arg(n, i);
  if (v.isTensor()) return v.toTensor().item<double>();
  return v.toScalar().toDouble();
}

bool LowerContext::bool_arg(const Node* n, size_t i) const {
  return static_arg(n, i).toBool();
}

std::vector<int64_t> LowerContext::ints_arg(const Node* n, size_t i) const {
  const auto v = static_arg(n, i);
  if (v.isInt()) return {v.toInt()};
  return v.toIntVector();
}

at::ScalarType LowerContext::dtype(const Value* v) const {
  const auto& a = info(v).a;
  if (a.isTensor()) return a.toTensor().scalar_type();
  if (a.isInt()) return at::kLong;
  if (a.isDouble()) return at::kDouble;
  if (a.isBool()) return at::kBool;
  throw std::logic_error("onnx lowering: value %" + v->debugName() + " has no dtype");
}

std::vector<int64_t> LowerContext::shape(const Value* v) const {
  const auto& inf = info(v);
  if (inf.a.isTensor()) return merged_sizes(inf);
  return {};  // scalars are 0-d
}

std::string LowerContext::materialize(const at::Tensor& tensor, const Value* v) {
  at::Tensor t = tensor.detach();
  if (t.has_storage()) {
    auto it = bases_.find(t.storage().data());
    if (it != bases_.end()) {
      const at::Tensor& base = it->second.first;
      const Value* base_value = it->second.second;
      if (base_value != v && base.is_contiguous() && t.numel() == base.numel() &&
          t.storage_offset() == base.storage_offset() && t.dim() == base.dim()) {
        // A permutation of the base's dims?
        std::vector<int64_t> perm;
        for (int64_t i = 0; i < t.dim(); ++i) {
          for (int64_t j = 0; j < base.dim(); ++j) {
            if (t.stride(i) == base.stride(j) && t.size(i) == base.size(j) &&
                std::find(perm.begin(), perm.end(), j) == perm.end()) {
              perm.push_back(j);
              break;
            }
          }
        }
        if (static_cast<int64_t>(perm.size()) == t.dim()) {
          const std::string base_name = b.initializer(base, base_value->debugName());
          bool identity = true;
          for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == (int64_t)i;
          if (identity) return base_name;
          return b.node1("Transpose", {base_name}, {attr("perm", perm)});
        }
      }
    }
  }
  if (t.numel() <= 16 && t.dim() <= 1) return b.constant(t);
  return b.initializer(t, v->debugName());
}

std::string LowerContext::int8_codes_transposed(const at::Tensor& q, const std::string& name_hint) {
  const at::Tensor codes = q.int_repr();
  for (const auto& [seen, name] : int8_codes_) {
    if (seen.sizes() == codes.sizes() && at::equal(seen, codes)) return name;
  }
  const std::string name = b.initializer(codes.t(), name_hint);  // transposed when written
  int8_codes_.emplace_back(codes, name);
  return name;
}

std::string LowerContext::in(const Value* v) {
  if (auto it = names_.find(v); it != names_.end()) return it->second;
  const auto& inf = info(v);
  if (inf.dynamic) {
    throw std::logic_error("onnx lowering: dynamic value %" + v->debugName() +
                           " used before it was lowered");
  }
  std::string name;
  const auto& a = inf.a;
  if (a.isTensor()) {
    name = materialize(a.toTensor(), v);
  } else if (a.isInt()) {
    name = b.scalar_i64(a.toInt());
  } else if (a.isDouble()) {
    name = b.scalar(a.toDouble(), at::kDouble);
  } else if (a.isBool()) {
    name = b.constant(at::scalar_tensor(a.toBool(), at::kBool));
  } else if (a.isIntList()) {
    name = b.const_i64(a.toIntVector());
  } else {
    throw UnsupportedOp(path_, v->node()->kind().toQualString(), where(v->node()),
                        fmt::format("a constant of type {} cannot be an ONNX tensor",
                                    v->type()->str()));
  }
  names_[v] = name;
  return name;
}

std::string LowerContext::cast(const std::string& name, at::ScalarType from, at::ScalarType to) {
  if (from == to) return name;
  return b.node1("Cast", {name}, {attr("to", static_cast<int64_t>(onnx_dtype(to)))});
}

std::string LowerContext::in_as(const Value* v, at::ScalarType dtype) {
  const auto& inf = info(v);
  if (!inf.dynamic && !bound(v)) {
    const auto& a = inf.a;
    if (a.isTensor()) {
      const at::Tensor t = a.toTensor();
      if (t.scalar_type() == dtype) return in(v);
      return b.initializer(t.to(dtype), v->debugName());
    }
    if (a.isInt() || a.isDouble() || a.isBool()) {
      return b.constant(at::scalar_tensor(a.toScalar(), at::TensorOptions().dtype(dtype)));
    }
  }
  return cast(in(v), this->dtype(v), dtype);
}

std::string LowerContext::ints_in(const Value* v) {
  if (auto it = int_lists_.find(v); it != int_lists_.end()) return it->second;
  const auto& inf = info(v);
  std::string name;
  if (!inf.dynamic) {
    const auto& a = inf.a;
    name = b.const_i64(a.isInt() ? std::vector<int64_t>{a.toInt()} : a.toIntVector());
  } else if (v->node()->kind() == prim::ListConstruct) {
    std::vector<std::string> parts;
    for (const Value* e : v->node()->inputs()) {
      if (!info(e).dynamic) {
        const auto& a = info(e).a;
        parts.push_back(b.const_i64({a.isTensor() ? a.toTensor().item<int64_t>() : a.toInt()}));
      } else {
        const std::string s = in_as(e, at::kLong);
        parts.push_back(b.node1("Unsqueeze", {s, b.const_i64({0})}));
      }
    }
    name = parts.size() == 1 ? parts.front() : b.node1("Concat", parts, {attr("axis", 0)});
  } else if (v->node()->kind() == aten::size && v->node()->inputs().size() == 1) {
    name = b.node1("Shape", {in(v->node()->input(0))});
  } else if (auto it = names_.find(v); it != names_.end()) {
    name = it->second;
  } else {
    unsupported(v->node(), "this list of sizes is computed in a way llmc cannot lower");
  }
  int_lists_[v] = name;
  return name;
}

std::vector<std::string> LowerContext::list_in(const Value* v) {
  if (auto it = lists_.find(v); it != lists_.end()) return it->second;
  if (v->node()->kind() == prim::ListConstruct) {
    std::vector<std::string> out;
    for (const Value* e : v->node()->inputs()) out.push_back(in(e));
    return out;
  }
  if (!info(v).dynamic && info(v).a.isTensorList()) {
    std::vector<std::string> out;
    for (const auto& t : info(v).a.toTensorList()) out.push_back(materialize(t, v));
    return out;
  }
  unsupported(v->node(), "this tensor list is produced in a way llmc cannot lower");
}

void LowerContext::out(const Value* v, const std::string& name) { names_[v] = name; }

void LowerContext::out_list(const Value* v, std::vector<std::string> names) {
  lists_[v] = std::move(names);
}

std::string LowerContext::emit(const Node* n, const std::string& op,
                               const std::vector<std::string>& inputs,
                               const std::vector<Attr>& attrs, size_t index) {
  const std::string name = b.node1(op, inputs, attrs);
  out(n->outputs()[index], name);
  return name;
}

void Registry::add(const std::string& qualified_kind, LowerFn fn) {
  table_[c10::Symbol::fromQualString(qualified_kind)] = std::move(fn);
}

const LowerFn* Registry::find(c10::Symbol kind) const {
  auto it = table_.find(kind);
  return it == table_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::kinds() const {
  std::vector<std::string> out;
  for (const auto& [k, fn] : table_) out.push_back(k.toQualString());
  std::sort(out.begin(), out.end());
  return out;
}

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    register_elementwise(reg);
    register_activation(reg);
    register_matmul(reg);
    register_normalization(reg);
    register_shape(reg);
    register_indexing(reg);
    register_creation(reg);
    register_scalar(reg);
    register_reduction(reg);
    register_conv(reg);
    register_rnn(reg);
    register_quantized(reg);
    return reg;
  }();
  return r;
}

}  // namespace llmc::onnx
