#include "llmc/util/temp_file.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fmt/format.h>

#include "llmc/util/error.h"

namespace llmc::util {

TempFile::TempFile(const std::string& prefix, const std::string& suffix) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) dir = "/tmp";
  std::string templ = (dir / (prefix + "XXXXXX" + suffix)).string();
  std::vector<char> name(templ.begin(), templ.end());
  name.push_back('\0');
  fd_ = ::mkostemps(name.data(), static_cast<int>(suffix.size()), O_CLOEXEC);
  if (fd_ < 0) {
    throw InternalError(fmt::format("cannot create a temporary file {}: {}", templ,
                                    std::strerror(errno)));
  }
  path_ = name.data();
  remove_on_signal_.emplace(path_, RemoveOnSignal::Kind::file);
}

TempFile::~TempFile() {
  if (fd_ >= 0) ::close(fd_);
  ::unlink(path_.c_str());
}

void TempFile::write_and_close(const void* bytes, size_t size) {
  const char* p = static_cast<const char*>(bytes);
  size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd_, p + written, size - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw InternalError(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
    written += static_cast<size_t>(n);
  }
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) {
    throw InternalError(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
  }
}

}  // namespace llmc::util
