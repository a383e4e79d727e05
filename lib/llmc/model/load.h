// The one model loader: TorchScript archives in, TorchScript archives out. Files that are not
// TorchScript (a pickled state_dict or nn.Module, an ONNX file, random bytes, a truncated
// archive) are recognised and rejected with InputError (exit 3) saying what the file is and
// how to export a TorchScript model.
#pragma once

#include <string>

#include <torch/script.h>

namespace llmc::model {

// What a file looks like from its first bytes and, for zip archives, its entry names.
enum class FileKind {
  missing,
  directory,
  empty,
  torchscript,       // zip archive with code/ and constants.pkl (torch.jit.save)
  torch_pickle_zip,  // zip archive with data.pkl but no code/ (torch.save of a module/state_dict)
  torch_pickle_legacy,  // legacy torch.save pickle stream
  zip_other,         // a zip archive that is neither
  truncated_zip,     // starts like a zip archive but its central directory is missing
  corrupt_zip,       // an entry fails its CRC-32 check
  onnx,              // ONNX protobuf
  unknown,
};

FileKind sniff_file(const std::string& path);
std::string describe(FileKind kind);

// Loads a TorchScript model on the CPU. Throws InputError for anything else.
torch::jit::Module load(const std::string& path);

// Serializes a module to `path` atomically.
void save(const torch::jit::Module& module, const std::string& path);

// How to produce a TorchScript file, for error hints.
const char* export_hint();

}  // namespace llmc::model
