#include "llmc/util/sha256.h"

#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "llmc/util/error.h"
#include "llmc/util/progress.h"

namespace llmc::util {

namespace {

// Bytes read per fread() in sha256_file_hex.
constexpr size_t kFileChunk = 1 << 20;

[[noreturn]] void crypto_failure(const char* what) {
  throw std::runtime_error(std::string("libcrypto: ") + what + " failed for SHA-256");
}

}  // namespace

struct Sha256::Context {
  EVP_MD_CTX* md = nullptr;
  Context() : md(EVP_MD_CTX_new()) {
    if (md == nullptr) crypto_failure("EVP_MD_CTX_new");
    if (EVP_DigestInit_ex(md, EVP_sha256(), nullptr) != 1) {
      EVP_MD_CTX_free(md);
      crypto_failure("EVP_DigestInit_ex");
    }
  }
  ~Context() { EVP_MD_CTX_free(md); }
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
};

Sha256::Sha256() : ctx_(std::make_unique<Context>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t size) {
  if (size == 0) return;
  if (EVP_DigestUpdate(ctx_->md, data, size) != 1) crypto_failure("EVP_DigestUpdate");
}

void Sha256::update(std::string_view data) { update(data.data(), data.size()); }

Sha256::Digest Sha256::finish() {
  Digest digest{};
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_->md, digest.data(), &n) != 1 || n != digest.size()) {
    crypto_failure("EVP_DigestFinal_ex");
  }
  return digest;
}

std::string Sha256::finish_hex() { return to_hex(finish()); }

std::string to_hex(const Sha256::Digest& digest) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * digest.size());
  for (uint8_t byte : digest) {
    out += kHex[byte >> 4];
    out += kHex[byte & 0xF];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 hasher;
  hasher.update(data);
  return hasher.finish_hex();
}

std::string sha256_file_hex(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                      &std::fclose);
  if (!file) {
    throw InputError(path, std::string("cannot open for hashing: ") + std::strerror(errno));
  }
  Sha256 hasher;
  std::vector<char> chunk(kFileChunk);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  log::Progress progress("hashing " + std::filesystem::path(path).filename().string(),
                         ec ? 0 : static_cast<int64_t>(size), log::ProgressUnit::bytes);
  int64_t hashed = 0;
  while (true) {
    size_t got = std::fread(chunk.data(), 1, chunk.size(), file.get());
    hasher.update(chunk.data(), got);
    progress.update(hashed += static_cast<int64_t>(got));
    if (got < chunk.size()) break;
  }
  if (std::ferror(file.get())) {
    throw InputError(path, std::string("cannot read for hashing: ") + std::strerror(errno));
  }
  return hasher.finish_hex();
}

}  // namespace llmc::util
