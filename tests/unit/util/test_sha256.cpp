// SHA-256 against the FIPS 180-4 / NIST test vectors, incremental use, and file hashing.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "llmc/util/sha256.h"

namespace {

using llmc::util::Sha256;
using llmc::util::sha256_file_hex;
using llmc::util::sha256_hex;

// A file in the temp directory that is removed when the test ends.
struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& contents) {
    path = std::filesystem::temp_directory_path() /
           ("llmc_test_sha256_" + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".bin");
    std::ofstream out(path, std::ios::binary);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

}  // namespace

TEST_CASE("sha256: NIST vectors") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1'000'000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256: lengths around the padding boundary") {
  // Reference values from Python's hashlib.
  CHECK(sha256_hex(std::string(55, 'x')) ==
        "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072");
  CHECK(sha256_hex(std::string(56, 'x')) ==
        "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e");
  CHECK(sha256_hex(std::string(63, 'x')) ==
        "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2");
  CHECK(sha256_hex(std::string(64, 'x')) ==
        "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c");
  CHECK(sha256_hex(std::string(65, 'x')) ==
        "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9");
  CHECK(sha256_hex(std::string(119, 'x')) ==
        "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c");
  CHECK(sha256_hex(std::string(120, 'x')) ==
        "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98");
}

TEST_CASE("sha256: incremental updates in odd pieces match one shot") {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += static_cast<char>(i * 31 % 256);
  for (size_t piece : {1u, 3u, 63u, 64u, 65u, 1000u}) {
    Sha256 hasher;
    for (size_t at = 0; at < data.size(); at += piece) {
      hasher.update(std::string_view(data).substr(at, piece));
    }
    CHECK(hasher.finish_hex() == sha256_hex(data));
  }
}

TEST_CASE("sha256: file hashing equals string hashing") {
  SUBCASE("empty file") {
    TempFile file("");
    CHECK(sha256_file_hex(file.path.string()) == sha256_hex(""));
  }
  SUBCASE("several read chunks, not a multiple of the chunk size") {
    std::string data;
    data.reserve(3 * 1024 * 1024 + 17);
    for (size_t i = 0; i < 3 * 1024 * 1024 + 17; ++i) data += static_cast<char>(i * 7 % 251);
    TempFile file(data);
    CHECK(sha256_file_hex(file.path.string()) == sha256_hex(data));
    // Reference value from Python's hashlib.
    CHECK(sha256_file_hex(file.path.string()) ==
          "9e4bfb50c618e8bde50fc019b449385ee970923d02b68c5a6c0a32344e6e34e6");
  }
}

TEST_CASE("sha256: unreadable files throw an error naming the path") {
  std::string missing =
      (std::filesystem::temp_directory_path() / "llmc_test_sha256_no_such_file.bin").string();
  try {
    sha256_file_hex(missing);
    FAIL("expected an exception");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find(missing) != std::string::npos);
  }
  // A directory opens but cannot be read.
  std::string dir = std::filesystem::temp_directory_path().string();
  CHECK_THROWS_AS(sha256_file_hex(dir), std::runtime_error);
}
