// Builds an ONNX ModelProto: nodes, initializers (each tensor stored once), small constants,
// unique value names, and graph inputs/outputs with named dynamic dimensions.
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

  // An initializer holding `t` (made contiguous); the same tensor (storage, offset, sizes,
  // strides, dtype) asked for twice is stored once.
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
  int64_t initializer_bytes_ = 0;
  int64_t node_count_ = 0;
};

// Fills a TensorProto from a contiguous CPU tensor.
void fill_tensor_proto(::onnx::TensorProto& p, const at::Tensor& t, const std::string& name);

}  // namespace llmc::onnx
