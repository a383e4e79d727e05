#include "test_support.h"

#include <cstdlib>
#include <random>
#include <sstream>
#include <stdexcept>

namespace llmc::test {

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto p = std::filesystem::temp_directory_path() /
             ("llmc-test-" + std::to_string(rd()) + std::to_string(attempt));
    if (std::filesystem::create_directory(p)) {
      path_ = p;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
  const auto p = path_ / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
  return p.string();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string fixture(const std::string& name) {
  const char* dir = std::getenv("LLMC_FIXTURES");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error("LLMC_FIXTURES is not set (run the suite with `meson test`)");
  }
  return std::filesystem::absolute(std::filesystem::path(dir) / name).string();
}

}  // namespace llmc::test
