#include "llmc/util/file_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace llmc::util {

namespace {

const char* type_name(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "a special file";
}

}  // namespace

std::optional<FileProblem> input_file_problem(const std::string& path) {
  using Kind = FileProblem::Kind;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == EACCES) return FileProblem{Kind::permission_denied, "permission denied"};
    if (errno == ENOENT || errno == ENOTDIR) return FileProblem{Kind::missing, "no such file"};
    return FileProblem{Kind::missing, std::strerror(errno)};
  }
  if (S_ISDIR(st.st_mode)) return FileProblem{Kind::directory, "it is a directory"};
  if (!S_ISREG(st.st_mode)) {
    return FileProblem{Kind::not_regular, std::string("it is ") + type_name(st.st_mode) +
                                              ", not a regular file"};
  }
  if (::access(path.c_str(), R_OK) != 0) {
    return FileProblem{Kind::permission_denied,
                       errno == EACCES ? "permission denied" : std::strerror(errno)};
  }
  return std::nullopt;
}

}  // namespace llmc::util
