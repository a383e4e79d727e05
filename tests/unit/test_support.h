// Helpers shared by unit tests: temporary directories and files.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

namespace llmc::test {

// A fresh directory under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  // Writes `text` to `name` inside the directory and returns the full path.
  std::string write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

std::string read_text(const std::string& path);

// A fixture made by tests/fixtures/make_fixtures.py (LLMC_FIXTURES); throws when unset.
std::string fixture(const std::string& name);

// True when `text` contains `part` (messages checked in tests).
inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace llmc::test
