#include "llmc/onnx/save.h"

#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/wire_format_lite.h>

#include "llmc/util/atomic_file.h"
#include "llmc/util/error.h"
#include "llmc/util/progress.h"

namespace llmc::onnx {

namespace {

constexpr int64_t kProtobufLimit = (int64_t{1} << 31) - (int64_t{64} << 20);  // with headroom
constexpr size_t kExternalMin = 1024;  // smaller tensors stay inline

// The initializer's bytes: its raw_data, or its deferred tensor laid out contiguously (then
// `held` keeps that layout alive while the bytes are used).
std::string_view initializer_bytes_of(const ::onnx::TensorProto& init, const TensorData& tensor_data,
                                      at::Tensor& held) {
  auto it = tensor_data.find(init.name());
  if (it == tensor_data.end()) return init.raw_data();
  held = it->second.contiguous();
  return {static_cast<const char*>(held.data_ptr()),
          static_cast<size_t>(held.numel()) * held.element_size()};
}

using google::protobuf::io::CodedOutputStream;
using google::protobuf::internal::WireFormatLite;

void write_length_delimited_tag(int field, CodedOutputStream& out) {
  out.WriteTag(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
}

size_t length_delimited_size(int field, size_t length) {
  return CodedOutputStream::VarintSize32(
             WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) +
         CodedOutputStream::VarintSize64(length) + length;
}

// Serializes `model` into `os` with the bytes of the initializers in `tensor_data` streamed
// straight from their tensors, one at a time, so the protobuf never holds the weights: the model
// without those initializers, then each of them as one more `graph.initializer` entry. The wire
// format allows that: a message field given in pieces is merged and a repeated field's entries
// may come anywhere, so every protobuf reader (ONNX, ONNX Runtime) reads the same model.
void serialize_streamed(::onnx::ModelProto& model, const TensorData& tensor_data,
                        std::ostream& os) {
  struct Streamed {
    std::string head;  // the TensorProto without raw_data
    at::Tensor tensor;
    size_t bytes = 0;
    size_t entry = 0;  // the serialized TensorProto's length
  };
  std::vector<Streamed> streamed;
  ::onnx::GraphProto graph;
  graph.Swap(model.mutable_graph());
  model.clear_graph();
  google::protobuf::RepeatedPtrField<::onnx::TensorProto> kept;
  for (auto& init : *graph.mutable_initializer()) {
    auto it = tensor_data.find(init.name());
    if (it == tensor_data.end()) {
      kept.Add()->Swap(&init);
      continue;
    }
    init.clear_raw_data();
    Streamed s;
    s.head = init.SerializeAsString();
    s.tensor = it->second;
    s.bytes = static_cast<size_t>(s.tensor.numel()) * s.tensor.element_size();
    s.entry = s.head.size() + length_delimited_size(::onnx::TensorProto::kRawDataFieldNumber, s.bytes);
    streamed.push_back(std::move(s));
  }
  graph.mutable_initializer()->Swap(&kept);
  size_t graph_bytes = graph.ByteSizeLong();
  for (const auto& s : streamed) {
    graph_bytes += length_delimited_size(::onnx::GraphProto::kInitializerFieldNumber, s.entry);
  }
  google::protobuf::io::OstreamOutputStream stream(&os);
  CodedOutputStream out(&stream);
  if (!model.SerializeToCodedStream(&out)) {
    throw InternalError("cannot serialize the ONNX model's header");
  }
  write_length_delimited_tag(::onnx::ModelProto::kGraphFieldNumber, out);
  out.WriteVarint64(graph_bytes);
  if (!graph.SerializeToCodedStream(&out)) throw InternalError("cannot serialize the ONNX graph");
  for (auto& s : streamed) {
    write_length_delimited_tag(::onnx::GraphProto::kInitializerFieldNumber, out);
    out.WriteVarint64(s.entry);
    out.WriteRaw(s.head.data(), static_cast<int>(s.head.size()));
    write_length_delimited_tag(::onnx::TensorProto::kRawDataFieldNumber, out);
    out.WriteVarint64(s.bytes);
    const at::Tensor t = s.tensor.contiguous();
    out.WriteRaw(t.data_ptr(), static_cast<int>(s.bytes));
  }
  out.Trim();
  if (out.HadError()) throw InternalError("cannot write the ONNX model");
}

}  // namespace

SavedFiles save_model(::onnx::ModelProto model, const TensorData& tensor_data,
                      const std::string& path, ExternalData mode, int64_t initializer_bytes) {
  SavedFiles out;
  out.model_path = path;
  const bool external = mode == ExternalData::always ||
                        (mode == ExternalData::automatic && initializer_bytes >= kProtobufLimit);
  if (external) {
    out.data_path = path + ".data";
    const std::string location = std::filesystem::path(out.data_path).filename().string();
    const std::string tmp = out.data_path + ".tmp";
    std::ofstream data(tmp, std::ios::binary);
    int64_t offset = 0;
    log::Progress progress("writing " + location, initializer_bytes, log::ProgressUnit::bytes);
    for (auto& init : *model.mutable_graph()->mutable_initializer()) {
      at::Tensor held;
      const std::string_view raw = initializer_bytes_of(init, tensor_data, held);
      if (raw.size() < kExternalMin) continue;
      // ONNX readers expect offsets aligned to 4096 bytes for mmap.
      const int64_t pad = (4096 - offset % 4096) % 4096;
      data << std::string(static_cast<size_t>(pad), '\0');
      offset += pad;
      data.write(raw.data(), static_cast<std::streamsize>(raw.size()));
      init.set_data_location(::onnx::TensorProto::EXTERNAL);
      auto add = [&](const std::string& k, const std::string& v) {
        auto* e = init.add_external_data();
        e->set_key(k);
        e->set_value(v);
      };
      add("location", location);
      add("offset", std::to_string(offset));
      add("length", std::to_string(raw.size()));
      offset += static_cast<int64_t>(raw.size());
      init.clear_raw_data();
      progress.update(offset);
    }
    progress.done();
    data.close();
    if (!data) throw InternalError("cannot write " + tmp);
    std::filesystem::rename(tmp, out.data_path);
    out.data_bytes = offset;
  } else if (initializer_bytes >= kProtobufLimit) {
    throw InputError(path, "the weights pass protobuf's 2 GB limit for one file",
                     "set export_onnx.external_data: auto (or always)");
  }
  // Serialized straight into the file, the weights streamed from their tensors (one file: under
  // 2 GB by the test above): no second copy of the weights in memory.
  util::write_file_atomic_with(path, [&](const std::string& temp_path) {
    std::ofstream file(temp_path, std::ios::binary | std::ios::trunc);
    serialize_streamed(model, external ? TensorData{} : tensor_data, file);
    if (!file.flush()) throw InternalError("cannot serialize the ONNX model into " + path);
  });
  out.model_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  return out;
}

}  // namespace llmc::onnx
