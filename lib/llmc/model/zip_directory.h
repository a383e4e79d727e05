// The central directory of a zip archive (TorchScript archives are zip files), read without
// LibTorch: entry names, sizes, CRC-32s and where their bytes are, zip64 included. The loader
// sniffs and checks archives with it before torch::jit::load trusts them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmc::model {

struct ZipEntry {
  std::string name;
  uint32_t crc = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_offset = 0;  // of the entry's local header
  uint16_t method = 0;        // 0 stored, 8 deflated
};

struct ZipDirectory {
  std::vector<ZipEntry> entries;
  bool zip64 = false;  // the archive uses zip64 records (over 4 GiB or 65535 entries)
};

// The entries of `path`'s central directory, or nullopt when there is none or it is cut short
// (a truncated file).
std::optional<ZipDirectory> read_zip_directory(const std::string& path);

// Offset in the file of the first byte of `e`'s data (past its local header), or nullopt when
// the local header is missing or the data would run past the end of the file.
std::optional<uint64_t> entry_data_offset(const std::string& path, const ZipEntry& e);

// The uncompressed contents of `e` (stored or deflated), or nullopt when they cannot be read or
// are larger than `max_size` bytes.
std::optional<std::string> read_entry(const std::string& path, const ZipEntry& e,
                                      uint64_t max_size);

}  // namespace llmc::model
