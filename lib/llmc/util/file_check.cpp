#include "llmc/util/file_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

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

FileProblem problem_from_errno(int err) {
  using Kind = FileProblem::Kind;
  switch (err) {
    case EACCES:
    case EPERM: return {Kind::permission_denied, "permission denied"};
    case ENOENT:
    case ENOTDIR: return {Kind::missing, "no such file"};
    case EISDIR: return {Kind::directory, "it is a directory"};
    default: return {Kind::missing, err == 0 ? "unknown error" : std::strerror(err)};
  }
}

std::optional<FileProblem> input_file_problem(const std::string& path) {
  using Kind = FileProblem::Kind;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return problem_from_errno(errno);
  if (S_ISDIR(st.st_mode)) return FileProblem{Kind::directory, "it is a directory"};
  if (!S_ISREG(st.st_mode)) {
    return FileProblem{Kind::not_regular, std::string("it is ") + type_name(st.st_mode) +
                                              ", not a regular file"};
  }
  if (::access(path.c_str(), R_OK) != 0) return problem_from_errno(errno);
  return std::nullopt;
}

std::optional<std::string> output_dir_problem(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target = fs::path(path).lexically_normal();
  const auto status = fs::status(target, ec);
  if (fs::exists(status) && !fs::is_directory(status)) {
    return path + " exists and is not a directory";
  }
  // The nearest existing ancestor: the directory the new one would be made in (or below).
  for (fs::path p = target.parent_path(); !p.empty(); p = p.parent_path()) {
    const auto s = fs::status(p, ec);
    if (fs::exists(s)) {
      if (fs::is_directory(s)) return std::nullopt;
      return "cannot create " + path + ": " + p.string() + " is a file, not a directory";
    }
    if (p == p.parent_path()) break;
  }
  return std::nullopt;
}

}  // namespace llmc::util
