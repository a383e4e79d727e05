// Writes the ModelProto: one file, or model.onnx plus model.onnx.data with the initializers
// (ONNX external data) when asked or when the file would pass protobuf's 2 GB limit.
#pragma once

#include <string>

#include "llmc/onnx/model_builder.h"
#include "llmc/onnx/proto.h"
#include "llmc/onnx/recipe.h"

namespace llmc::onnx {

struct SavedFiles {
  std::string model_path;
  std::string data_path;  // empty: no external data
  int64_t model_bytes = 0;
  int64_t data_bytes = 0;
};

// `tensor_data` holds the bytes of the initializers whose raw_data is empty (ModelBuilder's
// large ones); each is laid out (made contiguous) and written one at a time.
SavedFiles save_model(::onnx::ModelProto model, const TensorData& tensor_data,
                      const std::string& path, ExternalData mode, int64_t initializer_bytes);

}  // namespace llmc::onnx
