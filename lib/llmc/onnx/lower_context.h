// What an op lowering sees: the annotated TorchScript values (static ones are constants, dynamic
// ones have ONNX names) and the ModelBuilder it emits into. One lowering function per aten/prim
// op, registered by family in lib/llmc/onnx/ops/*.cpp.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <torch/script.h>

#include "llmc/onnx/annotate.h"
#include "llmc/onnx/model_builder.h"

namespace llmc::onnx {

using torch::jit::Node;
using torch::jit::Value;

class LowerContext {
 public:
  LowerContext(ModelBuilder& builder, const Annotation& annotation, const torch::jit::Graph& graph,
               std::string model_path);

  ModelBuilder& b;

  // --- TorchScript values -------------------------------------------------------------------
  const ValueInfo& info(const Value* v) const { return ann_.at(v); }
  bool is_static(const Value* v) const { return !info(v).dynamic; }
  bool is_none(const Value* v) const { return info(v).a.isNone(); }
  // Static arguments; UnsupportedOp naming the node when the value depends on the inputs.
  int64_t int_arg(const Node* n, size_t i) const;
  double double_arg(const Node* n, size_t i) const;
  bool bool_arg(const Node* n, size_t i) const;
  std::vector<int64_t> ints_arg(const Node* n, size_t i) const;
  c10::IValue static_arg(const Node* n, size_t i) const;
  // dtype of a tensor (run A) or of a scalar (int: Long, float: Double, bool: Bool).
  at::ScalarType dtype(const Value* v) const;
  // Sizes with -1 on dynamic dims; rank.
  std::vector<int64_t> shape(const Value* v) const;
  int64_t rank(const Value* v) const { return static_cast<int64_t>(shape(v).size()); }
  // A dim index normalized to [0, rank).
  int64_t norm_dim(int64_t d, int64_t rank) const { return d < 0 ? d + rank : d; }

  // --- ONNX names -----------------------------------------------------------------------------
  // The value as an ONNX tensor (static tensors become initializers, scalars 0-d constants).
  std::string in(const Value* v);
  // The same converted to `dtype` (constants are made in that dtype, dynamic values get a Cast).
  std::string in_as(const Value* v, at::ScalarType dtype);
  // An int list (static or built from dynamic sizes) as a 1-D int64 tensor.
  std::string ints_in(const Value* v);
  // A tensor list's elements.
  std::vector<std::string> list_in(const Value* v);
  std::string cast(const std::string& name, at::ScalarType from, at::ScalarType to);
  // The int8 codes of a quantized weight [out, in] as one initializer laid out [in, out] (what
  // MatMulInteger takes); every use of the same codes (a tied embedding's lookup, which the
  // graph's freeze may have copied) gets that one initializer.
  std::string int8_codes_transposed(const at::Tensor& q, const std::string& name_hint);

  void out(const Value* v, const std::string& name);
  void out_list(const Value* v, std::vector<std::string> names);
  bool bound(const Value* v) const { return names_.count(v) > 0; }

  // Emits a node whose single output is `n`'s output `index`, binding it.
  std::string emit(const Node* n, const std::string& op, const std::vector<std::string>& inputs,
                   const std::vector<Attr>& attrs = {}, size_t index = 0);

  [[noreturn]] void unsupported(const Node* n, const std::string& why) const;
  const std::string& model_path() const { return path_; }

 private:
  std::string materialize(const at::Tensor& t, const Value* v);

  const Annotation& ann_;
  std::string path_;
  std::unordered_map<const Value*, std::string> names_;
  std::unordered_map<const Value*, std::vector<std::string>> lists_;
  std::unordered_map<const Value*, std::string> int_lists_;
  // Every constant tensor of the graph by storage, so a transposed view of a weight (tied
  // embeddings) becomes Transpose(weight) instead of a second copy.
  std::map<const void*, std::pair<at::Tensor, const Value*>> bases_;
  std::vector<std::pair<at::Tensor, std::string>> int8_codes_;  // (codes [out, in], initializer)
};

using LowerFn = std::function<void(LowerContext&, const Node*)>;

class Registry {
 public:
  void add(const std::string& qualified_kind, LowerFn fn);
  const LowerFn* find(c10::Symbol kind) const;
  // Every registered kind ("aten::linear", ...), sorted.
  std::vector<std::string> kinds() const;

 private:
  std::unordered_map<c10::Symbol, LowerFn> table_;
};

// The registry of every op family (lib/llmc/onnx/ops/).
const Registry& registry();

// Families, one per file in ops/.
void register_elementwise(Registry& r);
void register_activation(Registry& r);
void register_matmul(Registry& r);
void register_normalization(Registry& r);
void register_shape(Registry& r);
void register_indexing(Registry& r);
void register_creation(Registry& r);
void register_scalar(Registry& r);
void register_reduction(Registry& r);
void register_conv(Registry& r);
void register_rnn(Registry& r);
void register_quantized(Registry& r);

}  // namespace llmc::onnx
