// Builds an ONNX ModelProto: nodes, initializers (each tensor stored once), small constants,
// unique value names, and graph inputs/outputs with named dynamic dimensions.
//
// The bytes of large initializers (the weights) are not copied into the ModelProto while the
// graph is built: they stay LibTorch tensors — views of the model's own weights where they can,
// a transposed Linear weight included — in `tensor_data()`, and save_model writes them one at a
// time. An export therefore never holds the weights twice (issue: 1.1 B models within 3x).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <ATen/ATen.h>

#include "llmc/onnx/proto.h"

namespace llmc::onnx {

// ONNX TensorProto data type of a torch dtype; UnsupportedOp-worthy dtypes throw InputError.
int32_t onnx_dtype(at::ScalarType t);
std::string onnx_dtype_name(int32_t t);

// An attribute value for ModelBuilder::node.
struct Attr {
  enum Kind { i, f, s, ints, floats } kind = i;
  std::string name;
  int64_t int_value = 0;
  float float_value = 0;
  std::string string_value;
  std::vector<int64_t> int_values;
  std::vector<float> float_values;
};
Attr attr(const std::string& name, int64_t v);
Attr attr(const std::string& name, int v);
Attr attr(const std::string& name, double v);
Attr attr(const std::string& name, const char* v);
Attr attr(const std::string& name, std::vector<int64_t> v);
Attr attr_floats(const std::string& name, std::vector<float> v);

// Initializer bytes held as tensors until the model is written, by initializer name.
using TensorData = std::map<std::string, at::Tensor>;

// Initializers from this size on keep their bytes in TensorData.
constexpr int64_t kDeferredBytes = 1024;

class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset);

  // A fresh value name derived from `hint`.
  std::string fresh(const std::string& hint);

  // Adds a node; returns its output names (fresh ones derived from op type unless given).
  std::vector<std::string> node(const std::string& op, const std::vector<std::string>& inputs,
                                size_t outputs = 1, const std::vector<Attr>& attrs = {},
                                const std::string& domain = "");
  // The same with given output names (graph outputs).
  void node_named(const std::string& op, const std::vector<std::string>& inputs,
                  const std::vector<std::string>& outputs, const std::vector<Attr>& attrs = {});
  // Keeps `name` from being handed out by fresh() (graph input and output names).
  void reserve(const std::string& name) { names_.insert(name); }
  std::string node1(const std::string& op, const std::vector<std::string>& inputs,
                    const std::vector<Attr>& attrs = {}) {
    return node(op, inputs, 1, attrs).front();
  }

  // An initializer holding `t` (any strides: it is made contiguous when written); the same
  // tensor (storage, offset, sizes, strides, dtype) asked for twice is stored once. Non-integer
  // tensors of kDeferredBytes and more get a one-byte placeholder raw_data here and their bytes
  // in tensor_data().
  std::string initializer(const at::Tensor& t, const std::string& name_hint);
  // A small constant (scalar or 1-D), also an initializer, deduplicated by value.
  std::string constant(const at::Tensor& t);
  std::string const_i64(const std::vector<int64_t>& values);  // 1-D int64
  std::string scalar_i64(int64_t v);                          // 0-d int64
  std::string scalar(double v, at::ScalarType dtype);         // 0-d of dtype

  // dims: sizes with -1 where dynamic; dim_names: names for those (same length, "" = fixed).
  void input(const std::string& name, at::ScalarType dtype, const std::vector<int64_t>& dims,
             const std::vector<std::string>& dim_names);
  void output(const std::string& name, at::ScalarType dtype, const std::vector<int64_t>& dims,
              const std::vector<std::string>& dim_names);

  int64_t opset() const { return opset_; }
  ::onnx::ModelProto& model() { return model_; }
  ::onnx::GraphProto& graph() { return *model_.mutable_graph(); }
  int64_t initializer_bytes() const { return initializer_bytes_; }
  // The bytes of the initializers whose raw_data is left empty, by initializer name.
  TensorData& tensor_data() { return tensor_data_; }

 private:
  ::onnx::ModelProto model_;
  int64_t opset_;
  std::set<std::string> names_;
  std::map<std::tuple<const void*, std::vector<int64_t>, std::vector<int64_t>, int>, std::string>
      by_tensor_;
  // The tensors behind by_tensor_'s keys, kept alive so a later temporary cannot reuse an
  // address and be mistaken for one already stored.
  std::vector<at::Tensor> keep_alive_;
  std::map<std::string, std::string> by_value_;  // small constants: dtype+bytes -> name
  TensorData tensor_data_;
  int64_t initializer_bytes_ = 0;
  int64_t node_count_ = 0;
};

// Fills a TensorProto from a CPU tensor (made contiguous).
void fill_tensor_proto(::onnx::TensorProto& p, const at::Tensor& t, const std::string& name);

// The bytes an initializer holds, from its dims and data type (its raw_data may be deferred).
int64_t tensor_proto_bytes(const ::onnx::TensorProto& p);

}  // namespace llmc::onnx
