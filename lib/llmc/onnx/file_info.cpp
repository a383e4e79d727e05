#include "llmc/onnx/file_info.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "llmc/onnx/proto.h"
#include "llmc/util/error.h"

namespace llmc::onnx {

namespace {

int64_t element_bytes(int32_t data_type) {
  using T = ::onnx::TensorProto;
  switch (data_type) {
    case T::DOUBLE:
    case T::INT64:
    case T::UINT64: return 8;
    case T::FLOAT:
    case T::INT32:
    case T::UINT32: return 4;
    case T::FLOAT16:
    case T::BFLOAT16:
    case T::INT16:
    case T::UINT16: return 2;
    default: return 1;
  }
}

}  // namespace

OnnxFileInfo read_onnx_file_info(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  ::onnx::ModelProto model;
  if (!in || !model.ParseFromIstream(&in) || !model.has_graph()) {
    throw InputError(path, "not an ONNX model (the file does not parse as an ONNX ModelProto)",
                     "give TorchScript files as .pt and ONNX files (e.g. from llmc export-onnx) "
                     "as .onnx");
  }
  OnnxFileInfo info;
  std::set<std::string> initializers;
  for (const auto& t : model.graph().initializer()) {
    initializers.insert(t.name());
    int64_t n = 1;
    for (auto d : t.dims()) n *= d;
    info.parameter_count += n;
    info.parameter_bytes += n * element_bytes(t.data_type());
  }
  for (const auto& i : model.graph().input()) {
    if (initializers.count(i.name()) == 0) info.input_names.push_back(i.name());
  }
  std::error_code ec;
  const auto data = std::filesystem::file_size(path + ".data", ec);
  if (!ec) info.external_data_bytes = static_cast<int64_t>(data);
  return info;
}

}  // namespace llmc::onnx
