#include "llmc/util/atomic_file.h"

#include <fcntl.h>
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
  if (fs::exists(t, ec)) {
    if (!fs::is_directory(t, ec)) {
      throw UsageError(fmt::format("output {} exists and is not a directory", target_));
    }
    if (!force_) {
      throw UsageError(
          fmt::format("output directory {} already exists; pass --force to replace it", target_));
    }
  }
  const fs::path parent = t.has_parent_path() ? t.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) {
    throw InternalError(fmt::format("cannot create {}: {}", parent.string(), ec.message()));
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
    LLMC_ASSERT(force_, "existing output without --force");
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
