#include "llmc/util/memory_budget.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "llmc/util/error.h"
#include "llmc/util/units.h"

namespace llmc::util {

namespace {

std::string read_small(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::ostringstream s;
  s << in.rdbuf();
  return s.str().substr(0, 1 << 20);
}

std::optional<uint64_t> number(const std::string& text) {
  std::istringstream in(text);
  uint64_t v = 0;
  if (!(in >> v)) return std::nullopt;
  return v;
}

std::string human(uint64_t bytes) { return human_bytes(static_cast<int64_t>(bytes)); }

}  // namespace

std::optional<MemoryAvailable> parse_memory_available(const std::string& meminfo,
                                                      const std::string& cgroup_max,
                                                      const std::string& cgroup_current) {
  std::optional<MemoryAvailable> r;
  std::istringstream lines(meminfo);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream fields(line.substr(13));
    uint64_t kib = 0;
    std::string unit;
    if (fields >> kib >> unit && unit == "kB") r = MemoryAvailable{kib * 1024, "MemAvailable"};
  }
  if (!r) return r;
  const auto limit = number(cgroup_max);  // "max\n" is no limit
  const auto used = number(cgroup_current);
  if (limit && used) {
    const uint64_t left = *limit > *used ? *limit - *used : 0;
    if (left < r->bytes) r = MemoryAvailable{left, "the cgroup's memory.max"};
  }
  return r;
}

std::optional<MemoryAvailable> memory_available() {
  // cgroup v2: /proc/self/cgroup has one line "0::/path".
  std::string dir;
  std::istringstream lines(read_small("/proc/self/cgroup"));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("0::", 0) == 0) dir = "/sys/fs/cgroup" + line.substr(3);
  }
  std::string max, current;
  if (!dir.empty()) {
    max = read_small(dir + "/memory.max");
    current = read_small(dir + "/memory.current");
  }
  return parse_memory_available(read_small("/proc/meminfo"), max, current);
}

uint64_t min_bytes(const MemoryNeed& need) {
  return static_cast<uint64_t>(need.min_copies * static_cast<double>(need.weights)) + kRuntimeBytes;
}

uint64_t usual_bytes(const MemoryNeed& need) {
  return static_cast<uint64_t>(need.usual_copies * static_cast<double>(need.weights)) +
         kRuntimeBytes;
}

Fit judge_memory(const MemoryNeed& need, uint64_t available) {
  if (min_bytes(need) > available) return Fit::cannot;
  if (usual_bytes(need) > available) return Fit::tight;
  return Fit::fits;
}

std::string check_memory(const std::string& path, const MemoryNeed& need, bool check) {
  if (!check || need.weights == 0) return "";
  const auto available = memory_available();
  if (!available) return "";
  switch (judge_memory(need, available->bytes)) {
    case Fit::fits: return "";
    case Fit::tight:
      return fmt::format("{}: this run usually needs about {} ({:.3g}× its {} of weights as "
                         "measured, plus LibTorch), more than the {} available ({}); the system "
                         "may stop it for lack of memory",
                         path, human(usual_bytes(need)), need.usual_copies, human(need.weights),
                         human(available->bytes), available->source);
    case Fit::cannot: break;
  }
  throw InputError(path,
                   fmt::format("the model does not fit in memory: this run needs at least {} "
                               "({}: {}{} of weights; plus about {} for LibTorch), and {} is "
                               "available ({})",
                               human(min_bytes(need)), need.what,
                               need.min_copies == 1 ? "" : fmt::format("{:.3g}× ", need.min_copies),
                               human(need.weights), human(kRuntimeBytes), human(available->bytes),
                               available->source),
                   "free memory or run on a machine with more; --no-memory-check runs it anyway");
}

uint64_t files_bytes(const std::vector<std::string>& paths) {
  uint64_t total = 0;
  for (const auto& p : paths) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(p, ec);
    if (!ec) total += size;
  }
  return total;
}

}  // namespace llmc::util
