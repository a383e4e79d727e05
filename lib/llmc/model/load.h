// The one model loader: TorchScript archives in, TorchScript archives out. Files that are not
// TorchScript (a pickled state_dict or nn.Module, an ONNX file, random bytes, a truncated
// archive) are recognised and rejected with InputError (exit 3) saying what the file is and
// how to export a TorchScript model.
#pragma once

#include <string>
#include <vector>

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

// What load did to the model beyond reading it.
struct LoadNotes {
  int sdpa_decomposed = 0;      // aten::scaled_dot_product_attention calls decomposed
  int sdpa_mask_dtype_unknown = 0;
  std::vector<std::string> sdpa_left;  // calls that could not be decomposed, and why
};

// Loads a TorchScript model on the CPU, with progress lines checking and reading its bytes
// (util/progress.h). Throws InputError for anything else. Archives of a newer
// PyTorch load too where they call only operators model/newer_ops.h registers; their
// scaled_dot_product_attention calls are decomposed into LibTorch 1.13's operators
// (passes/decompose_sdpa.h), which `notes` records. An operator LibTorch lacks is an InputError
// naming it, its line in the archive and what to do. An archive whose storage records are missing
// or shorter than its tensors need is an InputError naming the record (model/archive_check.h).
torch::jit::Module load(const std::string& path, LoadNotes* notes = nullptr);

// Serializes a module to `path` atomically (write_archive into a temporary file, then rename).
void save(const torch::jit::Module& module, const std::string& path);

// Serializes a module into the file `path` (created or truncated), streamed record by record,
// with a progress line "writing NAME" (NAME: `target`'s file name, which errors name too; the
// file `path` becomes).
void write_archive(const torch::jit::Module& module, const std::string& path,
                   const std::string& target);

// How to produce a TorchScript file, for error hints.
const char* export_hint();

// The hint for a LibTorch error `what` from loading an archive: "written by a newer PyTorch"
// only when LibTorch says the archive's format version is beyond what it reads.
std::string load_failure_hint(const std::string& what);

}  // namespace llmc::model
