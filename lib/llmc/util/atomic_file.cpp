#include "llmc/util/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "llmc/util/error.h"
#include "llmc/util/log.h"

namespace llmc::util {

namespace fs = std::filesystem;

namespace {

std::string random_suffix() {
  static std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}-{:x}", ::getpid(), rng() & 0xffffffu);
}

// True when `inner` is `outer` or lies inside it (both made absolute and normalized; symlinks
// resolved where they exist).
bool is_within(const fs::path& inner, const fs::path& outer) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(inner, ec);
  const fs::path b = fs::weakly_canonical(outer, ec);
  auto ai = a.begin();
  for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
    if (bi->empty()) continue;
    if (ai == a.end() || *ai != *bi) return false;
  }
  return true;
}

// The PID of a leftover named `prefix` + "PID-X" (X 1 to 6 hex digits), or 0 when `name` is not
// one.
pid_t leftover_pid(const std::string& name, const std::string& prefix) {
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return 0;
  const std::string rest = name.substr(prefix.size());
  const size_t dash = rest.find('-');
  if (dash == 0 || dash == std::string::npos || dash > 9) return 0;
  const std::string pid = rest.substr(0, dash);
  const std::string hex = rest.substr(dash + 1);
  if (pid.find_first_not_of("0123456789") != std::string::npos || hex.empty() || hex.size() > 6 ||
      hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return 0;
  }
  return static_cast<pid_t>(std::stol(pid));
}

// True when no process has that PID (kill(pid, 0) says ESRCH; EPERM means one runs).
bool pid_dead(pid_t pid) { return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

bool exchange_paths(const std::string& a, const std::string& b) {
#ifndef RENAME_EXCHANGE
  constexpr unsigned RENAME_EXCHANGE = 1u << 1;  // <linux/fs.h>
#endif
#ifdef SYS_renameat2
  return ::syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0;
#else
  errno = ENOSYS;
  return false;
#endif
}

std::vector<std::string> recover_leftovers(const std::string& target) {
  std::vector<std::string> done;
  std::string name = target;
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  const fs::path t(name);
  const fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
  const std::string base = t.filename().string();
  const std::string old_prefix = "." + base + ".llmc-old-";
  const std::string staging_prefix = "." + base + ".llmc-staging-";
  std::vector<fs::path> olds, stagings;
  std::error_code ec;
  for (fs::directory_iterator it(parent, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    const bool old = leftover_pid(entry, old_prefix) != 0;
    const pid_t pid = old ? leftover_pid(entry, old_prefix) : leftover_pid(entry, staging_prefix);
    if (pid == 0 || pid == ::getpid() || !pid_dead(pid)) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
      continue;  // not a directory llmc made for this user
    }
    (old ? olds : stagings).push_back(it->path());
  }
  std::sort(olds.begin(), olds.end());
  for (const auto& old : olds) {
    std::error_code missing;
    if (!fs::exists(fs::symlink_status(t, missing))) {
      fs::rename(old, t, ec);
      if (!ec) {
        done.push_back(fmt::format("restored {} from {}, where a run that was killed had moved it",
                                   name, old.filename().string()));
        continue;
      }
    }
    fs::remove_all(old, ec);
    if (!ec) done.push_back(fmt::format("removed {}, left by a run that was killed", old.string()));
  }
  for (const auto& staging : stagings) {
    fs::remove_all(staging, ec);
    if (!ec) {
      done.push_back(fmt::format("removed {}, left by a run that was killed", staging.string()));
    }
  }
  return done;
}

namespace {

// The temporary sibling of `target` that an atomic write fills before its rename.
fs::path temp_sibling(const fs::path& target) {
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  return dir / ("." + target.filename().string() + ".tmp-" + random_suffix());
}

// fsync of the filled temporary file, then its rename onto `target`; removes it on failure.
void commit_temp(const fs::path& tmp, const fs::path& target) {
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  const int sync_errno = errno;
  const bool closed = fd >= 0 && ::close(fd) == 0;
  if (!synced || !closed) {
    const int err = synced ? errno : sync_errno;
    ::unlink(tmp.c_str());
    throw InternalError(fmt::format("cannot write {}: {}", target.string(), std::strerror(err)));
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw InternalError(fmt::format("cannot rename {} to {}: {}", tmp.string(), target.string(),
                                    std::strerror(err)));
  }
}

// Creates `tmp` exclusively (never follows or reuses an existing entry); returns its descriptor.
int create_temp(const fs::path& tmp, const std::string& path) {
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    throw InternalError(fmt::format("cannot create {} (temporary file {}): {}", path,
                                    tmp.filename().string(), std::strerror(errno)));
  }
  return fd;
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const fs::path target(path);
  const fs::path tmp = temp_sibling(target);
  const RemoveOnSignal remove_on_signal(tmp.string(), RemoveOnSignal::Kind::file);
  const int fd = create_temp(tmp, path);
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw InternalError(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(err)));
    }
    written += static_cast<size_t>(n);
  }
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw InternalError(fmt::format("cannot write {}: {}", path, std::strerror(err)));
  }
  commit_temp(tmp, target);
}

void write_file_atomic_with(const std::string& path,
                            const std::function<void(const std::string& temp_path)>& write) {
  const fs::path target(path);
  const fs::path tmp = temp_sibling(target);
  const RemoveOnSignal remove_on_signal(tmp.string(), RemoveOnSignal::Kind::file);
  ::close(create_temp(tmp, path));
  try {
    write(tmp.string());
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  commit_temp(tmp, target);
}

std::string OutputLock::lock_path(const std::string& target) {
  std::error_code ec;
  fs::path t = fs::weakly_canonical(fs::absolute(target, ec), ec);
  if (!t.has_filename()) t = t.parent_path();  // "out/" -> "out"
  return (t.parent_path() / ("." + t.filename().string() + ".llmc-lock")).string();
}

OutputLock::OutputLock(const std::string& target) : path_(lock_path(target)) {
  // Open, lock, then check that the path still names the file locked: a holder removes the
  // file before it unlocks, so a lock on a removed file means "try again".
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
      throw InternalError(fmt::format("cannot create the lock file {} of output {}: {}", path_,
                                      target, std::strerror(errno)));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd);
      if (err == EWOULDBLOCK) {
        throw UsageError(fmt::format(
            "output {} is in use: another llmc run holds it (lock file {}); wait for it to "
            "finish or choose another --out",
            target, path_));
      }
      throw InternalError(fmt::format("cannot lock {}: {}", path_, std::strerror(err)));
    }
    struct stat held {}, now {};
    if (::fstat(fd, &held) == 0 && ::stat(path_.c_str(), &now) == 0 &&
        held.st_dev == now.st_dev && held.st_ino == now.st_ino) {
      fd_ = fd;
      remove_on_signal_.emplace(path_, RemoveOnSignal::Kind::file);
      return;
    }
    ::close(fd);
  }
  throw InternalError(fmt::format("cannot lock {}: it keeps being replaced", path_));
}

OutputLock::~OutputLock() {
  if (fd_ < 0) return;
  ::unlink(path_.c_str());  // while still locked: see the constructor
  ::close(fd_);
}

void refuse_output_over_inputs(const std::string& target, const std::vector<std::string>& inputs) {
  for (const auto& p : inputs) {
    if (!p.empty() && is_within(p, target)) {
      throw UsageError(fmt::format(
          "output directory {} would contain or replace the input {}; choose another --out",
          target, p));
    }
  }
}

OutputDir::OutputDir(std::string target, bool force,
                     const std::vector<std::string>& protected_paths)
    : target_(std::move(target)), force_(force) {
  // "out/" and "out" are the same directory: drop trailing separators (but keep "/").
  while (target_.size() > 1 && target_.back() == '/') target_.pop_back();
  if (target_.empty()) {
    throw UsageError("no output directory: set `output:` in the recipe or pass --out DIR");
  }
  std::error_code ec;
  const fs::path t(target_);
  refuse_output_over_inputs(target_, protected_paths);
  const fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) {
    throw InternalError(fmt::format("cannot create {}: {}", parent.string(), ec.message()));
  }
  // Before looking at the target: a second run on the same output stops here, at once.
  lock_.emplace(target_);
  for (const auto& line : recover_leftovers(target_)) log::warn("{}", line);
  if (fs::exists(t, ec)) {
    if (!fs::is_directory(t, ec)) {
      throw UsageError(fmt::format("output {} exists and is not a directory", target_));
    }
    if (!force_) {
      throw UsageError(
          fmt::format("output directory {} already exists; pass --force to replace it", target_));
    }
  }
  staging_ = (parent / ("." + t.filename().string() + ".llmc-staging-" + random_suffix())).string();
  remove_on_signal_.emplace(staging_, RemoveOnSignal::Kind::tree);  // before it exists
  fs::create_directory(staging_, ec);
  if (ec) throw InternalError(fmt::format("cannot create {}: {}", staging_, ec.message()));
}

OutputDir::~OutputDir() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

std::string OutputDir::file(const std::string& name) const {
  return (fs::path(staging_) / name).string();
}

void OutputDir::commit() {
  std::error_code ec;
  const fs::path t(target_);
  if (!fs::exists(fs::symlink_status(t, ec))) {
    fs::rename(staging_, t, ec);
    if (ec) throw InternalError(fmt::format("cannot move results into {}: {}", target_, ec.message()));
    committed_ = true;
    return;
  }
  if (!force_) {  // not another llmc run (it would hold the lock): some other program
    throw UsageError(fmt::format(
        "output directory {} appeared while llmc ran (another program wrote it); nothing was "
        "replaced, pass --force to replace it",
        target_));
  }
  // One atomic step: the new directory takes the target's name, the old one the staging name,
  // and is removed after. A kill at any moment leaves the old or the new output in place (and
  // at worst the old one under the staging name, which the next run removes).
  if (exchange_paths(staging_, target_)) {
    committed_ = true;
    fs::remove_all(staging_, ec);
    return;
  }
  // The filesystem cannot swap: two renames. A kill between them leaves no target but the old
  // directory aside, which the next run on this output puts back (recover_leftovers).
  const fs::path old =
      t.parent_path() / ("." + t.filename().string() + ".llmc-old-" + random_suffix());
  fs::rename(t, old, ec);
  if (ec) throw InternalError(fmt::format("cannot move {} aside: {}", target_, ec.message()));
  fs::rename(staging_, t, ec);
  if (ec) {
    std::error_code back;
    fs::rename(old, t, back);
    throw InternalError(fmt::format("cannot move results into {}: {}", target_, ec.message()));
  }
  committed_ = true;
  fs::remove_all(old, ec);
}

}  // namespace llmc::util
