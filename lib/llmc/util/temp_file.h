// A private temporary file: created by mkstemps (O_CREAT|O_EXCL, mode 0600, an unpredictable
// name), so a file or symlink planted in the temporary directory is never opened or followed;
// removed when the object goes away, on every exit path, SIGINT and SIGTERM included.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "llmc/util/signal_cleanup.h"

namespace llmc::util {

class TempFile {
 public:
  // In the system temporary directory ($TMPDIR, else /tmp), named `prefix` + six random
  // characters + `suffix` ("llmc-probe-" + "a1B2c3" + ".pkl"). Throws InternalError.
  TempFile(const std::string& prefix, const std::string& suffix);
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }
  // Writes all of `bytes` and closes the file (it stays until the object goes away).
  void write_and_close(const void* bytes, size_t size);

 private:
  std::string path_;
  int fd_ = -1;
  std::optional<RemoveOnSignal> remove_on_signal_;
};

}  // namespace llmc::util
