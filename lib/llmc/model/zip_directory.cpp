#include "llmc/model/zip_directory.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace llmc::model {

namespace fs = std::filesystem;

namespace {

// Bytes [at, at + n) of the file, or fewer at its end. Allocates n bytes: every caller bounds n
// by what the file can hold (the tail's 64 KiB, the central directory's size checked against
// the file's, 20- to 56-byte records) or by read_entry's max_size, never by a size field alone.
std::string read_at(std::ifstream& in, uint64_t at, uint64_t n) {
  std::string bytes(n, '\0');
  in.clear();
  in.seekg(static_cast<std::streamoff>(at));
  in.read(bytes.data(), static_cast<std::streamsize>(n));
  bytes.resize(static_cast<size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return bytes;
}

uint64_t le(const std::string& s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) {
    v = v << 8 | static_cast<unsigned char>(s[at + static_cast<size_t>(i)]);
  }
  return v;
}
uint64_t u16(const std::string& s, size_t at) { return le(s, at, 2); }
uint64_t u32(const std::string& s, size_t at) { return le(s, at, 4); }
uint64_t u64(const std::string& s, size_t at) { return le(s, at, 8); }

constexpr uint64_t kMax32 = 0xffffffffu;

// Replaces the 32-bit fields of `e` that say "see zip64" by the values of the zip64 extra field
// (id 1) in `extra`. False when a needed value is missing.
bool apply_zip64_extra(const std::string& extra, ZipEntry& e) {
  size_t at = 0;
  while (at + 4 <= extra.size()) {
    const uint64_t id = u16(extra, at);
    const uint64_t len = u16(extra, at + 2);
    if (at + 4 + len > extra.size()) return false;
    if (id == 1) {
      size_t p = at + 4;
      const size_t end = at + 4 + len;
      for (uint64_t* field : {&e.uncompressed_size, &e.compressed_size, &e.local_offset}) {
        if (*field != kMax32) continue;
        if (p + 8 > end) return false;
        *field = u64(extra, p);
        p += 8;
      }
      return true;
    }
    at += 4 + len;
  }
  return e.uncompressed_size != kMax32 && e.compressed_size != kMax32 && e.local_offset != kMax32;
}

}  // namespace

std::optional<ZipDirectory> read_zip_directory(const std::string& path) {
  std::error_code ec;
  const uint64_t file_size = fs::file_size(path, ec);
  if (ec) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  // End of central directory: signature 0x06054b50 within the last 64 KiB + 22 bytes.
  const uint64_t take = std::min<uint64_t>(file_size, 65536 + 22);
  const uint64_t tail_at = file_size - take;
  const std::string tail = read_at(in, tail_at, take);
  const size_t eocd = tail.rfind(std::string("PK\x05\x06", 4));
  if (eocd == std::string::npos || eocd + 22 > tail.size()) return std::nullopt;
  ZipDirectory dir;
  uint64_t cd_size = u32(tail, eocd + 12);
  uint64_t cd_offset = u32(tail, eocd + 16);
  if (cd_offset == kMax32 || cd_size == kMax32 || u16(tail, eocd + 10) == 0xffff) {
    // zip64: a locator just before the record points to the zip64 end of central directory.
    dir.zip64 = true;
    const uint64_t eocd_at = tail_at + eocd;
    if (eocd_at < 20) return std::nullopt;
    const std::string locator = read_at(in, eocd_at - 20, 20);
    if (locator.size() != 20 || locator.compare(0, 4, "PK\x06\x07") != 0) return std::nullopt;
    const uint64_t record_at = u64(locator, 8);
    if (record_at > file_size) return std::nullopt;
    const std::string record = read_at(in, record_at, 56);
    if (record.size() != 56 || record.compare(0, 4, "PK\x06\x06") != 0) return std::nullopt;
    cd_size = u64(record, 40);
    cd_offset = u64(record, 48);
  }
  if (cd_offset > file_size || cd_size > file_size - cd_offset) return std::nullopt;
  const std::string cd = read_at(in, cd_offset, cd_size);
  if (cd.size() != cd_size) return std::nullopt;
  size_t at = 0;
  while (at + 46 <= cd.size() && cd.compare(at, 4, "PK\x01\x02") == 0) {
    const size_t name_len = u16(cd, at + 28);
    const size_t extra_len = u16(cd, at + 30);
    const size_t comment_len = u16(cd, at + 32);
    if (at + 46 + name_len + extra_len > cd.size()) return std::nullopt;
    ZipEntry e;
    e.method = static_cast<uint16_t>(u16(cd, at + 10));
    e.crc = static_cast<uint32_t>(u32(cd, at + 16));
    e.compressed_size = u32(cd, at + 20);
    e.uncompressed_size = u32(cd, at + 24);
    e.local_offset = u32(cd, at + 42);
    e.name = cd.substr(at + 46, name_len);
    if (e.compressed_size == kMax32 || e.uncompressed_size == kMax32 || e.local_offset == kMax32) {
      dir.zip64 = true;
      if (!apply_zip64_extra(cd.substr(at + 46 + name_len, extra_len), e)) return std::nullopt;
    }
    dir.entries.push_back(std::move(e));
    at += 46 + name_len + extra_len + comment_len;
  }
  if (dir.entries.empty()) return std::nullopt;
  return dir;
}

std::optional<uint64_t> entry_data_offset(const std::string& path, const ZipEntry& e) {
  std::error_code ec;
  const uint64_t file_size = fs::file_size(path, ec);
  if (ec || e.local_offset > file_size) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  const std::string header = read_at(in, e.local_offset, 30);
  if (header.size() != 30 || header.compare(0, 4, "PK\x03\x04") != 0) return std::nullopt;
  const uint64_t data_at = e.local_offset + 30 + u16(header, 26) + u16(header, 28);
  if (data_at > file_size || e.compressed_size > file_size - data_at) return std::nullopt;
  return data_at;
}

std::optional<std::string> read_entry(const std::string& path, const ZipEntry& e,
                                      uint64_t max_size) {
  if (e.uncompressed_size > max_size) return std::nullopt;
  if (e.compressed_size > max_size + max_size / 8 + 1024) return std::nullopt;  // deflate's slack
  const auto data_at = entry_data_offset(path, e);
  if (!data_at) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  const std::string raw = read_at(in, *data_at, e.compressed_size);
  if (raw.size() != e.compressed_size) return std::nullopt;
  if (e.method == 0) {
    if (raw.size() != e.uncompressed_size) return std::nullopt;
    return raw;
  }
  if (e.method != 8) return std::nullopt;
  std::string out(e.uncompressed_size, '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) return std::nullopt;  // raw deflate
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const bool whole = rc == Z_STREAM_END && z.total_out == e.uncompressed_size;
  inflateEnd(&z);
  if (!whole) return std::nullopt;
  return out;
}

}  // namespace llmc::model
