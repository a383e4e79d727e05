// SHA-256 through OpenSSL's libcrypto (EVP digest; libssl-dev). Used to fingerprint models, data
// and artifacts: large models are hashed several times per run, and libcrypto's SHA-NI/AVX2
// code is several times faster than a portable implementation.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace llmc::util {

// Incremental hasher: update() any number of times, then finish() once.
class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  void update(const void* data, size_t size);
  // The digest of everything passed to update(). The hasher must not be used afterwards.
  Digest finish();
  // finish() as 64 lowercase hex digits.
  std::string finish_hex();

 private:
  struct Context;  // libcrypto's EVP_MD_CTX, kept out of this header
  std::unique_ptr<Context> ctx_;
};

// Lowercase hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// Lowercase hex SHA-256 of a file's contents, read in chunks. Throws llmc::InputError (a
// std::runtime_error whose message starts with the path) if the file cannot be read.
std::string sha256_file_hex(const std::string& path);

// 64 lowercase hex digits for a digest.
std::string to_hex(const Sha256::Digest& digest);

}  // namespace llmc::util
