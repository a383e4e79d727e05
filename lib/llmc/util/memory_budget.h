// Will a run fit in memory? Checked before anything is loaded, so that a model too large for the
// machine is an exit 3 naming the file and the figures, not the kernel's OOM killer minutes in.
//
// What is available: MemAvailable of /proc/meminfo, or less when the process's cgroup (v2) has a
// memory.max below it (containers, systemd slices, CI runners). What a run needs: copies of the
// model's weights (a TorchScript file stores its tensors uncompressed, so the file's size is
// their size) plus LibTorch's own resident memory. The lower bound is what the subcommand holds
// at its peak however the weights are laid out (docs/cli.md#memory-to-plan-for); above it the
// run is refused. Between it and the usual figure it runs with a warning.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace llmc::util {

struct MemoryAvailable {
  uint64_t bytes = 0;
  std::string source;  // "MemAvailable" or "the cgroup's memory.max"
};

// From the text of /proc/meminfo and of the cgroup's memory.max and memory.current (empty when
// absent; "max" is no limit). Nothing when meminfo has no MemAvailable line.
std::optional<MemoryAvailable> parse_memory_available(const std::string& meminfo,
                                                      const std::string& cgroup_max,
                                                      const std::string& cgroup_current);
// This process's: reads /proc/meminfo and /sys/fs/cgroup/<its cgroup>/memory.{max,current}.
std::optional<MemoryAvailable> memory_available();

// A run's needs: `weights` bytes held `min_copies` times at least and `usual_copies` times as
// measured, plus LibTorch's resident memory.
struct MemoryNeed {
  uint64_t weights = 0;
  double min_copies = 2;
  double usual_copies = 3;
  std::string what;  // "eval-freeze holds 2 copies of the weights at its peak"
};

inline constexpr uint64_t kRuntimeBytes = uint64_t{256} << 20;  // LibTorch, measured ~270 MiB

enum class Fit { fits, tight, cannot };
Fit judge_memory(const MemoryNeed& need, uint64_t available);
uint64_t min_bytes(const MemoryNeed& need);
uint64_t usual_bytes(const MemoryNeed& need);

// The check every subcommand runs before loading: throws InputError naming `path` (the model
// file) when the run cannot fit, returns a warning when it may not, else "". `check` false (the
// `--no-memory-check` flag) skips it.
std::string check_memory(const std::string& path, const MemoryNeed& need, bool check);

// The weights' bytes of the files a run loads (0 for a file that cannot be read: the load
// reports it later).
uint64_t files_bytes(const std::vector<std::string>& paths);

}  // namespace llmc::util
