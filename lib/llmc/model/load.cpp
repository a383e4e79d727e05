#include "llmc/model/load.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <zlib.h>

#include <caffe2/serialize/file_adapter.h>
#include <fmt/format.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/version.h>

#include "llmc/model/archive_check.h"
#include "llmc/model/newer_ops.h"
#include "llmc/model/zip_directory.h"
#include "llmc/passes/decompose_sdpa.h"
#include "llmc/util/log.h"
#include "llmc/util/progress.h"

#include "llmc/util/atomic_file.h"
#include "llmc/util/error.h"
#include "llmc/util/file_check.h"

namespace llmc::model {

namespace fs = std::filesystem;

const char* export_hint() {
  return "export a TorchScript model from Python with `torch.jit.save(torch.jit.script(model), "
         "\"model.pt\")` (or torch.jit.trace(model.eval(), example_inputs) for models that do "
         "not script)";
}

namespace {

std::string read_head(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  std::string head(n, '\0');
  in.read(head.data(), static_cast<std::streamsize>(n));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

std::string file_label(const std::string& path) { return fs::path(path).filename().string(); }

// The first stored entry whose bytes do not match their CRC-32, or "" when all match.
// LibTorch's reader does not check, so a model damaged in the middle would load silently.
std::string first_corrupt_entry(const std::string& path, const std::vector<ZipEntry>& entries) {
  std::ifstream in(path, std::ios::binary);
  std::string buffer;
  int64_t stored = 0, checked = 0;
  for (const auto& e : entries) {
    if (e.method == 0) stored += static_cast<int64_t>(e.compressed_size);
  }
  log::Progress progress("checking " + file_label(path), stored, log::ProgressUnit::bytes);
  for (const auto& e : entries) {
    if (e.method != 0) continue;  // TorchScript archives store entries uncompressed
    const auto data_at = entry_data_offset(path, e);
    if (!data_at) return e.name;
    in.seekg(static_cast<std::streamoff>(*data_at));
    uLong crc = crc32(0L, Z_NULL, 0);
    uint64_t left = e.compressed_size;
    buffer.resize(1 << 20);
    while (left > 0) {
      const auto n = static_cast<std::streamsize>(std::min<uint64_t>(left, buffer.size()));
      if (!in.read(buffer.data(), n)) return e.name;
      crc = crc32(crc, reinterpret_cast<const Bytef*>(buffer.data()), static_cast<uInt>(n));
      left -= static_cast<uint64_t>(n);
      progress.update(checked += n);
    }
    if (static_cast<uint32_t>(crc) != e.crc) return e.name;
  }
  return "";
}

bool has_entry(const std::vector<ZipEntry>& entries, const std::string& suffix) {
  for (const auto& e : entries) {
    const auto& n = e.name;
    if (n.size() >= suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return true;
    }
  }
  return false;
}

bool has_part(const std::vector<ZipEntry>& entries, const std::string& part) {
  for (const auto& e : entries) {
    if (e.name.find(part) != std::string::npos) return true;
  }
  return false;
}

}  // namespace
FileKind sniff_file(const std::string& path) {
  // A FIFO would block the reads below forever; an unreadable file is not "unrecognised".
  if (const auto problem = util::input_file_problem(path);
      problem && (problem->kind == util::FileProblem::Kind::not_regular ||
                  problem->kind == util::FileProblem::Kind::permission_denied)) {
    throw InputError(path, "cannot load model: " + problem->message);
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) return FileKind::missing;
  if (fs::is_directory(path, ec)) return FileKind::directory;
  if (fs::file_size(path, ec) == 0) return FileKind::empty;
  {
    // Readable by stat() and access() is not always readable (root on a root-squashed NFS
    // share, an LSM denial): an open that fails says why, not "unrecognised content".
    errno = 0;
    std::ifstream probe(path, std::ios::binary);
    if (!probe) {
      throw InputError(path, "cannot load model: " + util::problem_from_errno(errno).message);
    }
  }
  const std::string head = read_head(path, 64);
  if (head.compare(0, 4, "PK\x03\x04") == 0) {
    const auto dir = read_zip_directory(path);
    if (!dir) return FileKind::truncated_zip;
    const auto& entries = dir->entries;
    const bool zip64 = dir->zip64;
    const bool torchscript = has_entry(entries, "constants.pkl") || has_part(entries, "/code/");
    if (!zip64 && !first_corrupt_entry(path, entries).empty()) return FileKind::corrupt_zip;
    if (torchscript) return FileKind::torchscript;
    if (has_entry(entries, "data.pkl")) return FileKind::torch_pickle_zip;
    return FileKind::zip_other;
  }
  // Pickle protocol 2+ starts with 0x80 then the protocol number.
  if (static_cast<unsigned char>(head[0]) == 0x80 && head.size() > 1 &&
      static_cast<unsigned char>(head[1]) <= 5) {
    return FileKind::torch_pickle_legacy;
  }
  // ONNX ModelProto: field 1 (ir_version, varint) first, and producer/opset strings early on.
  if (head[0] == 0x08 && (read_head(path, 4096).find("onnx") != std::string::npos ||
                          read_head(path, 4096).find("pytorch") != std::string::npos ||
                          fs::path(path).extension() == ".onnx")) {
    return FileKind::onnx;
  }
  return FileKind::unknown;
}

std::string describe(FileKind kind) {
  switch (kind) {
    case FileKind::missing: return "no such file";
    case FileKind::directory: return "a directory, not a model file";
    case FileKind::empty: return "an empty file";
    case FileKind::torchscript: return "a TorchScript archive";
    case FileKind::torch_pickle_zip:
      return "a PyTorch pickle written by torch.save (a state_dict or an nn.Module), not a "
             "TorchScript archive: it holds weights or Python objects but no TorchScript code";
    case FileKind::torch_pickle_legacy:
      return "a legacy PyTorch pickle (torch.save with _use_new_zipfile_serialization=False), "
             "not a TorchScript archive";
    case FileKind::zip_other: return "a zip archive that is not a TorchScript model";
    case FileKind::truncated_zip:
      return "a truncated or corrupt archive (its zip central directory is missing: was the "
             "copy or download cut short?)";
    case FileKind::corrupt_zip:
      return "a corrupt archive: an entry's bytes do not match its CRC-32 checksum (the file "
             "was damaged after it was written)";
    case FileKind::onnx: return "an ONNX model, not a TorchScript archive";
    case FileKind::unknown: return "not a TorchScript archive (unrecognised content)";
  }
  return "unknown";
}

std::string load_failure_hint(const std::string& what) {
  // "Attempted to read a PyTorch file with version 10, but the maximum supported version for
  // reading is 7": only this says the archive is too new. A missing `version` record ("failed
  // locating file version") or any other message with the word in it says nothing about age.
  if (what.find("maximum supported version") != std::string::npos) {
    return "the archive was written by a newer PyTorch than LibTorch " TORCH_VERSION
           " reads; re-export it with torch 1.13";
  }
  if (what.find("failed locating file") != std::string::npos) {
    return std::string("the archive lacks a record every torch.jit.save archive has: it is "
                       "incomplete or was not written by torch.jit.save; ") +
           export_hint();
  }
  return export_hint();
}

namespace {

// "Unknown builtin op: aten::foo." and the archive's line from a c10::Error of torch::jit::load:
// the operator, and "code/__torch__/x.py:12" (empty when the message has none).
std::pair<std::string, std::string> unknown_operator(const std::string& what) {
  std::string op;
  const std::string marker = "Unknown builtin op: ";
  if (const auto at = what.find(marker); at != std::string::npos) {
    const auto start = at + marker.size();
    auto end = what.find_first_of(".\n ", start);
    // "aten::foo." ends at the full stop after the name (names contain no dots but overloads).
    op = what.substr(start, end == std::string::npos ? std::string::npos : end - start);
  }
  std::string where;
  const std::string file_marker = "Serialized   File \"";
  auto f = what.find(file_marker);
  size_t skip = file_marker.size();
  if (f == std::string::npos) {
    f = what.find("File \"");
    skip = 6;
  }
  if (f != std::string::npos) {
    const auto start = f + skip;
    const auto end = what.find('"', start);
    const auto line_at = what.find("line ", end);
    if (end != std::string::npos && line_at != std::string::npos) {
      const auto digits = what.find_first_not_of("0123456789", line_at + 5);
      where = what.substr(start, end - start) + ":" + what.substr(line_at + 5, digits - line_at - 5);
    }
  }
  return {op, where};
}

// The archive's bytes as LibTorch's reader asks for them, counted on a progress line: a large
// model's records are most of the file, so the count goes from 0 to about the file's size.
class CountingFileAdapter final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit CountingFileAdapter(const std::string& path)
      : file_(path),
        progress_("loading " + file_label(path), static_cast<int64_t>(file_.size()),
                  log::ProgressUnit::bytes) {}
  size_t size() const override { return file_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* what) const override {
    const size_t got = file_.read(pos, buf, n, what);
    read_ += static_cast<int64_t>(got);
    progress_.update(read_);
    return got;
  }
  void done() const { progress_.done(); }

 private:
  caffe2::serialize::FileAdapter file_;
  mutable log::Progress progress_;
  mutable int64_t read_ = 0;
};

}  // namespace

torch::jit::Module load(const std::string& path, LoadNotes* notes) {
  const FileKind kind = sniff_file(path);
  if (kind != FileKind::torchscript) {
    const bool fixable_by_export = kind == FileKind::torch_pickle_zip ||
                                   kind == FileKind::torch_pickle_legacy ||
                                   kind == FileKind::onnx || kind == FileKind::unknown ||
                                   kind == FileKind::zip_other;
    throw InputError(path, "cannot load model: the file is " + describe(kind),
                     fixable_by_export ? export_hint() : "");
  }
  // LibTorch trusts every storage record to be as long as its tensors say.
  check_storage_records(path);
  register_newer_operators();
  // What went wrong, as an InputError: an operator the archive calls that LibTorch lacks (a
  // torch::jit::ErrorReport from the compiler), else the message's first non-empty line.
  const auto refuse = [&path](const std::string& what) {
    const auto [op, where] = unknown_operator(what);
    if (!op.empty()) {
      throw InputError(
          path,
          fmt::format("cannot load TorchScript model: it calls {}{}, which LibTorch " TORCH_VERSION
                      " does not have (the archive was written by a newer PyTorch)",
                      op, where.empty() ? "" : " at " + where),
          op.find("attention") != std::string::npos
              ? "re-export it with eager attention: for a transformers model, load it with "
                "attn_implementation=\"eager\" before tracing"
              : "re-export it with operators LibTorch " TORCH_VERSION " has: trace or script "
                "it with torch 1.13, or replace that call in the model's code (for a "
                "transformers model, also load it with attn_implementation=\"eager\")");
    }
    const auto start = what.find_first_not_of(" \n");
    const std::string rest = start == std::string::npos ? "" : what.substr(start);
    const std::string first_line = rest.substr(0, rest.find('\n'));
    throw InputError(path, "cannot load TorchScript model: " + first_line, load_failure_hint(what));
  };
  torch::jit::Module module;
  try {
    // What torch::jit::load(path) does for a zip archive, through a reader that counts.
    const auto reader = std::make_shared<CountingFileAdapter>(path);
    module = torch::jit::load(reader, torch::kCPU);
    reader->done();
  } catch (const c10::Error& e) {
    refuse(e.what_without_backtrace());
  } catch (const std::exception& e) {
    refuse(e.what());
  }
  const passes::DecomposeSdpaResult sdpa = passes::decompose_sdpa(module);
  if (sdpa.changed > 0) {
    log::debug("{}: {} scaled_dot_product_attention calls decomposed into matmul/softmax "
               "(PyTorch 2.x attention)", path, sdpa.changed);
  }
  if (notes != nullptr) {
    notes->sdpa_decomposed = static_cast<int>(sdpa.changed);
    notes->sdpa_mask_dtype_unknown = static_cast<int>(sdpa.mask_dtype_unknown);
    notes->sdpa_left.clear();
    for (const auto& left : sdpa.left) notes->sdpa_left.push_back(left.reason + " (" + left.site + ")");
  }
  return module;
}

void write_archive(const torch::jit::Module& module, const std::string& path,
                   const std::string& target) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    throw InternalError(fmt::format("cannot write {}: {}", target, std::strerror(errno)));
  }
  log::Progress progress("writing " + file_label(target), 0, log::ProgressUnit::bytes);
  int64_t written = 0;
  // What Module::save(path) does, through a writer that counts (LibTorch's zip writer names the
  // archive's top folder "archive" this way, as Python's torch.jit.save to a buffer does).
  const auto write = [&](const void* data, size_t n) -> size_t {
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n));
    if (!out) return 0;
    progress.update(written += static_cast<int64_t>(n));
    return n;
  };
  try {
    torch::jit::ExportModule(module, write);
  } catch (const c10::Error& e) {
    throw InternalError(fmt::format("cannot serialize the model for {}: {}", target,
                                    e.what_without_backtrace()));
  }
  out.close();
  if (!out) throw InternalError(fmt::format("cannot write {}: {}", target, std::strerror(errno)));
}

void save(const torch::jit::Module& module, const std::string& path) {
  // Streamed to a temporary file by LibTorch's zip writer, record by record: a serialized copy
  // of a large model is never held in memory.
  util::write_file_atomic_with(path, [&](const std::string& temp_path) {
    write_archive(module, temp_path, path);
  });
}

}  // namespace llmc::model
