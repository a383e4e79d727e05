#include "llmc/util/atomic_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "llmc/util/error.h"

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

}  // namespace

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const fs::path tmp = dir / ("." + target.filename().string() + ".tmp-" + random_suffix());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw InternalError(fmt::format("cannot create {} (temporary file {}): {}", path,
                                    tmp.filename().string(), std::strerror(errno)));
  }
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
  const bool synced = ::fsync(fd) == 0;
  const int sync_errno = errno;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    const int err = synced ? errno : sync_errno;
    ::unlink(tmp.c_str());
    throw InternalError(fmt::format("cannot write {}: {}", path, std::strerror(err)));
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw InternalError(fmt::format("cannot rename {} to {}: {}", tmp.string(), path,
                                    std::strerror(err)));
  }
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
  for (const auto& p : protected_paths) {
    if (!p.empty() && is_within(p, t)) {
      throw UsageError(fmt::format(
          "output directory {} would contain or replace the input {}; choose another --out",
          target_, p));
    }
  }
  const fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) {
    throw InternalError(fmt::format("cannot create {}: {}", parent.string(), ec.message()));
  }
  // Before looking at the target: a second run on the same output stops here, at once.
  lock_.emplace(target_);
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
  fs::path old;
  if (fs::exists(t, ec)) {
    if (!force_) {  // not another llmc run (it would hold the lock): some other program
      throw UsageError(fmt::format(
          "output directory {} appeared while llmc ran (another program wrote it); nothing was "
          "replaced, pass --force to replace it",
          target_));
    }
    old = t.parent_path() / ("." + t.filename().string() + ".llmc-old-" + random_suffix());
    fs::rename(t, old, ec);
    if (ec) throw InternalError(fmt::format("cannot move {} aside: {}", target_, ec.message()));
  }
  fs::rename(staging_, t, ec);
  if (ec) {
    if (!old.empty()) fs::rename(old, t, ec);
    throw InternalError(fmt::format("cannot move results into {}: {}", target_, ec.message()));
  }
  committed_ = true;
  if (!old.empty()) fs::remove_all(old, ec);
}

}  // namespace llmc::util
