// Writing results so that a failure never leaves a partial or corrupted artifact:
// single files go through a temporary file in the target directory and a rename; a whole
// output directory is built in a hidden staging directory beside it and renamed into place at
// the end. With --force the old and new directories swap names in one atomic step
// (RENAME_EXCHANGE) and the old one is removed after; where the filesystem cannot swap, two
// renames, and the next run on that output restores or removes what a run killed between them
// left (recover_leftovers).
#pragma once

#include <optional>
#include <functional>
#include <string>
#include <vector>

#include "llmc/util/signal_cleanup.h"

namespace llmc::util {

// Writes `bytes` to `path` atomically (temp file in the same directory, fsync, rename).
void write_file_atomic(const std::string& path, const std::string& bytes);

// The same for a writer that writes a file by name (e.g. torch::jit::Module::save, which streams
// tensor records to disk): `write` is handed the path of a new, empty temporary file in the same
// directory as `path` and writes it; then fsync and rename. Nothing of the whole file is held in
// memory. If `write` throws, the temporary file is removed and the exception propagates.
void write_file_atomic_with(const std::string& path,
                            const std::function<void(const std::string& temp_path)>& write);

// An exclusive lock on an output path for as long as the object lives: flock on the sibling
// file `.NAME.llmc-lock` (NAME the output's last component, symlinks resolved, so every spelling
// of one output takes the same lock). Another holder, in this process or another, makes the
// constructor throw UsageError at once, naming the output. The lock file is removed on release;
// a run that opened it just before stays safe (it sees the file gone and takes a fresh one).
class OutputLock {
 public:
  explicit OutputLock(const std::string& target);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

  const std::string& path() const { return path_; }
  // The lock file of `target`.
  static std::string lock_path(const std::string& target);

 private:
  std::string path_;
  int fd_ = -1;
  std::optional<RemoveOnSignal> remove_on_signal_;  // the lock file
};

// Swaps the directory entries `a` and `b` in one atomic step (Linux renameat2 with
// RENAME_EXCHANGE). False, with errno set, where the kernel or filesystem cannot (EINVAL,
// ENOSYS) or on any other failure.
bool exchange_paths(const std::string& a, const std::string& b);

// What llmc runs that died (killed, or the machine stopped) left beside `target`: their staging
// directories `.NAME.llmc-staging-PID-X` and the previous output they had moved aside,
// `.NAME.llmc-old-PID-X`. Only directories of that exact naming, owned by this user, whose PID is
// no running process, are touched: a moved-aside output is renamed back to `target` when
// `target` is missing (the run died between its two renames), else removed with the staging
// directories. Call it holding the target's OutputLock. Returns one line per thing done.
std::vector<std::string> recover_leftovers(const std::string& target);

// Throws UsageError when an input (a non-empty path of `inputs`) is `target` or lies inside it: an
// output directory is replaced as a whole, so it must never hold what the run reads.
void refuse_output_over_inputs(const std::string& target, const std::vector<std::string>& inputs);

// Staging for an output directory. Files are written into staging_path(); commit() moves the
// directory into place. Destroying an uncommitted OutputDir removes the staging directory, and so
// does SIGINT or SIGTERM (util/signal_cleanup.h). At start it removes the staging directories of
// killed runs on the same output and puts back an output one moved aside (recover_leftovers).
class OutputDir {
 public:
  // Refuses (UsageError) an existing `target` without `force`, a `target` that is a file, a
  // `target` that contains or equals any of `protected_paths` (the user's inputs), and a
  // `target` another llmc run is writing (it holds the OutputLock until this object goes away).
  OutputDir(std::string target, bool force, const std::vector<std::string>& protected_paths);
  ~OutputDir();
  OutputDir(const OutputDir&) = delete;
  OutputDir& operator=(const OutputDir&) = delete;

  const std::string& staging_path() const { return staging_; }
  const std::string& target() const { return target_; }
  // Path of `name` inside the staging directory.
  std::string file(const std::string& name) const;
  void commit();

 private:
  std::string target_;
  std::optional<OutputLock> lock_;
  std::string staging_;
  std::optional<RemoveOnSignal> remove_on_signal_;  // the staging directory
  bool force_;
  bool committed_ = false;
};

}  // namespace llmc::util
