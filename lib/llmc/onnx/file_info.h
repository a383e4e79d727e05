// What `llmc compare` needs to know about an ONNX file before running it in ONNX Runtime: the
// graph's inputs (initializers excluded) and the size of its weights.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace llmc::onnx {

struct OnnxFileInfo {
  std::vector<std::string> input_names;  // graph inputs that are not initializers, in order
  int64_t parameter_count = 0;           // elements of the initializers
  int64_t parameter_bytes = 0;
  int64_t external_data_bytes = 0;       // "<file>.data" next to it (export-onnx's external data)
};

// InputError naming the file when it is not an ONNX model.
OnnxFileInfo read_onnx_file_info(const std::string& path);

}  // namespace llmc::onnx
