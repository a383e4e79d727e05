// SHA-256 (FIPS 180-4), self-contained. Used to fingerprint models, data and artifacts.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace llmc::util {

// Incremental hasher: update() any number of times, then finish() once.
class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  void update(std::string_view data);
  void update(const void* data, size_t size);
  // The digest of everything passed to update(). The hasher must not be used afterwards.
  Digest finish();
  // finish() as 64 lowercase hex digits.
  std::string finish_hex();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;     // bytes waiting in buffer_
  uint64_t total_bytes_ = 0;
};

// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// Lowercase hex SHA-256 of a file's contents, read in chunks. Throws llmc::InputError (a
// std::runtime_error whose message starts with the path) if the file cannot be read.
std::string sha256_file_hex(const std::string& path);

// 64 lowercase hex digits for a digest.
std::string to_hex(const Sha256::Digest& digest);

}  // namespace llmc::util
