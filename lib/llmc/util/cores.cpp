#include "llmc/util/cores.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "llmc/util/error.h"
#include "llmc/util/excerpt.h"

namespace llmc::util {

namespace {

std::optional<double> positive_number(const std::string& text) {
  std::istringstream in(text);
  double v = 0;
  if (!(in >> v) || !(v > 0) || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string read_small_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
}

// The smallest quota of the cgroup at `path` (under /sys/fs/cgroup) and its ancestors.
std::optional<double> v2_quota(const std::string& path) {
  std::optional<double> lowest;
  std::filesystem::path dir = std::filesystem::path("/sys/fs/cgroup") /
                              std::filesystem::path(path).relative_path();
  for (int depth = 0; depth < 64; ++depth) {
    if (const auto q = cgroup_v2_cpus(read_small_file(dir / "cpu.max"))) {
      lowest = lowest ? std::min(*lowest, *q) : *q;
    }
    if (dir == "/sys/fs/cgroup" || !dir.has_parent_path()) break;
    dir = dir.parent_path();
  }
  return lowest;
}

}  // namespace

std::optional<double> cgroup_v2_cpus(const std::string& cpu_max) {
  std::istringstream in(cpu_max);
  std::string quota, period;
  if (!(in >> quota >> period) || quota == "max") return std::nullopt;
  const auto q = positive_number(quota);
  const auto p = positive_number(period);
  if (!q || !p) return std::nullopt;
  return *q / *p;
}

std::optional<double> cgroup_v1_cpus(const std::string& quota_us, const std::string& period_us) {
  const auto q = positive_number(quota_us);  // "-1": no quota
  const auto p = positive_number(period_us);
  if (!q || !p) return std::nullopt;
  return *q / *p;
}

int cores_within_quota(int affinity_cpus, std::optional<double> quota_cpus) {
  int cores = std::max(1, affinity_cpus);
  if (quota_cpus) cores = std::min(cores, static_cast<int>(std::floor(*quota_cpus + 1e-9)));
  return std::max(1, cores);
}

std::string cgroup_v2_path(const std::string& proc_self_cgroup) {
  std::istringstream in(proc_self_cgroup);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return "";
}

int available_cores() {
  static const int cores = [] {
    std::optional<double> quota;
    const std::string path = cgroup_v2_path(read_small_file("/proc/self/cgroup"));
    if (!path.empty()) quota = v2_quota(path);
    if (!quota) {
      quota = cgroup_v1_cpus(read_small_file("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
                             read_small_file("/sys/fs/cgroup/cpu/cpu.cfs_period_us"));
    }
    return cores_within_quota(affinity_cpus(), quota);
  }();
  return cores;
}

int resolve_threads(int64_t requested, const char* env, int cores) {
  if (requested >= 1) return static_cast<int>(requested);
  if (env == nullptr || *env == '\0') return std::max(1, cores);
  const std::string text(env);
  if (text == "auto") return std::max(1, cores);
  size_t used = 0;
  long value = 0;
  if (std::isdigit(static_cast<unsigned char>(text.front())) != 0) {
    try {
      value = std::stol(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
  }
  if (used != text.size() || value < 1 || value > 1024) {
    throw UsageError(fmt::format(
        "the environment variable LLMC_THREADS is \"{}\": expected a number of threads from 1 "
        "to 1024, or auto",
        excerpt(text)));
  }
  return static_cast<int>(value);
}

int resolve_threads(int64_t requested) {
  if (requested >= 1) return static_cast<int>(requested);
  return resolve_threads(requested, std::getenv("LLMC_THREADS"), available_cores());
}

}  // namespace llmc::util
