// The cores this process may compute on: the CPUs of its affinity mask (taskset, a container's
// cpuset), bounded by a cgroup CPU quota (docker --cpus, Kubernetes limits). `threads: auto`
// uses it. The parsing is pure, so that it is unit-tested on the texts the kernel writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace llmc::util {

// CPUs allowed by cgroup v2's cpu.max ("max 100000" or "150000 100000"): quota / period;
// nullopt for no limit or a text that is not one.
std::optional<double> cgroup_v2_cpus(const std::string& cpu_max);
// The same for cgroup v1's cpu.cfs_quota_us ("-1" for none) and cpu.cfs_period_us.
std::optional<double> cgroup_v1_cpus(const std::string& quota_us, const std::string& period_us);
// Whole cores to use: the affinity count bounded by the quota rounded down, at least 1 (a
// quota of 1.5 CPUs gives 1 thread: 2 would be throttled half the time).
int cores_within_quota(int affinity_cpus, std::optional<double> quota_cpus);
// The cgroup of this process from /proc/self/cgroup's text: the v2 path ("0::/a/b" → "/a/b")
// or "" when there is no v2 line.
std::string cgroup_v2_path(const std::string& proc_self_cgroup);

// This process's cores: sched_getaffinity, and the cgroup quotas of its cgroup and every
// ancestor (v2), or of the cpu controller (v1). Read once.
int available_cores();

// The threads a run computes with: `requested` when it is at least 1 (`threads: N`, --threads);
// for auto (0), `env` (LLMC_THREADS: a number from 1 to 1024, or auto) when set and not empty,
// else `cores`. Throws UsageError naming LLMC_THREADS when it is neither.
int resolve_threads(int64_t requested, const char* env, int cores);
// The same with this process's LLMC_THREADS and available_cores().
int resolve_threads(int64_t requested);

}  // namespace llmc::util
