// Step 3: lower the annotated graph to an ONNX ModelProto through the op registry. Static values
// are folded (initializers and constants); every dynamic node needs a lowering, and all the ops
// without one are listed at once.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "llmc/onnx/annotate.h"
#include "llmc/onnx/model_builder.h"
#include "llmc/onnx/prepare.h"
#include "llmc/onnx/proto.h"
#include "llmc/onnx/recipe.h"

namespace llmc::onnx {

struct IoInfo {
  std::string name;
  std::string dtype;                 // ONNX name: FLOAT, INT64, ...
  std::vector<std::string> dims;     // "batch", "128", ...
};

struct Lowered {
  ::onnx::ModelProto model;  // large initializers' bytes are in tensor_data
  TensorData tensor_data;
  std::vector<IoInfo> inputs;
  std::vector<IoInfo> outputs;
  std::map<std::string, int64_t> op_histogram;
  int64_t initializer_bytes = 0;
  int64_t folded_nodes = 0;  // TorchScript nodes folded into constants
};

Lowered lower_graph(const PreparedGraph& prepared, const Annotation& annotation,
                    const ExportOptions& options, const std::string& model_path);

// The graph outputs flattened (tuples and lists of tensors in order).
std::vector<const torch::jit::Value*> flat_outputs(const torch::jit::Graph& graph);

}  // namespace llmc::onnx
