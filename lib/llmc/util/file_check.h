// Checking an input file before opening it for reading: opening a FIFO blocks until a writer
// comes (forever, in a CI job), a directory or a device is nothing to parse, and "permission
// denied" says more than the parse error an unreadable file would otherwise end in.
#pragma once

#include <optional>
#include <string>

namespace llmc::util {

struct FileProblem {
  enum class Kind { missing, directory, not_regular, permission_denied };
  Kind kind;
  std::string message;  // "it is a FIFO (named pipe), not a regular file", "permission denied"
};

// What an errno from stat(), open() or read() of an input file means: EACCES and EPERM are
// "permission denied", ENOENT and ENOTDIR "no such file", EISDIR "it is a directory", anything
// else its strerror text. Also for an open() that fails after input_file_problem passed (root on
// a root-squashed NFS share, an LSM denial: stat() and access() do not see those).
FileProblem problem_from_errno(int err);

// What stops `path` being read as a regular file, or nothing. Never opens it (symlinks are
// followed, as opening would).
std::optional<FileProblem> input_file_problem(const std::string& path);

// Why a directory cannot be created (or replaced) at `path`, or nothing: `path` is an existing
// file, or its nearest existing parent is not a directory ("cannot create out/x: out is a file,
// not a directory"). Checked when a recipe is read, so that a run does not fail only when it
// writes, after all its work.
std::optional<std::string> output_dir_problem(const std::string& path);

}  // namespace llmc::util
