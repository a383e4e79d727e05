#include "fuzz_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>

namespace llmc::fuzz {

namespace {

struct TempFiles {
  std::map<std::string, std::string> by_suffix;
  ~TempFiles() {
    for (const auto& [suffix, path] : by_suffix) ::unlink(path.c_str());
  }
};

TempFiles& temp_files() {
  static TempFiles files;
  return files;
}

}  // namespace

const std::string& write_temp(const uint8_t* data, size_t size, const char* suffix) {
  auto& files = temp_files().by_suffix;
  auto it = files.find(suffix);
  if (it == files.end()) {
    const char* dir = std::getenv("TMPDIR");
    std::string pattern = std::string(dir && *dir ? dir : "/tmp") + "/llmc-fuzz-XXXXXX" + suffix;
    const int fd = ::mkstemps(pattern.data(), static_cast<int>(std::string(suffix).size()));
    if (fd < 0) finding("cannot create a temporary file");
    ::close(fd);
    it = files.emplace(suffix, pattern).first;
  }
  std::ofstream out(it->second, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) finding("cannot write the temporary file");
  return it->second;
}

void finding(const std::string& what) {
  std::fprintf(stderr, "llmc fuzz finding: %s\n", what.substr(0, 2000).c_str());
  std::abort();
}

void check_message_bounded(const std::string& message) {
  size_t lines = 0, start = 0;
  while (start <= message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    if (end - start > 4096) finding("an error line of " + std::to_string(end - start) + " bytes");
    ++lines;
    start = end + 1;
  }
  if (lines > 60) finding("an error of " + std::to_string(lines) + " lines");
}

}  // namespace llmc::fuzz
