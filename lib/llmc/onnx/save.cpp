#include "llmc/onnx/save.h"

#include <filesystem>
#include <fstream>

#include "llmc/util/atomic_file.h"
#include "llmc/util/error.h"
#include "llmc/util/progress.h"

namespace llmc::onnx {

namespace {

constexpr int64_t kProtobufLimit = (int64_t{1} << 31) - (int64_t{64} << 20);  // with headroom
constexpr size_t kExternalMin = 1024;  // smaller tensors stay inline

}  // namespace

SavedFiles save_model(::onnx::ModelProto model, const std::string& path, ExternalData mode,
                      int64_t initializer_bytes) {
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
      if (init.raw_data().size() < kExternalMin) continue;
      // ONNX readers expect offsets aligned to 4096 bytes for mmap.
      const int64_t pad = (4096 - offset % 4096) % 4096;
      data << std::string(static_cast<size_t>(pad), '\0');
      offset += pad;
      const std::string& raw = init.raw_data();
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
  // Serialized straight into the file: no second copy of the weights in memory.
  util::write_file_atomic_with(path, [&](const std::string& temp_path) {
    std::ofstream file(temp_path, std::ios::binary | std::ios::trunc);
    if (!model.SerializeToOstream(&file) || !file.flush()) {
      throw InternalError("cannot serialize the ONNX model into " + path);
    }
  });
  out.model_bytes = static_cast<int64_t>(std::filesystem::file_size(path));
  return out;
}

}  // namespace llmc::onnx
