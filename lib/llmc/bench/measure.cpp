#include "llmc/bench/measure.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>

namespace llmc::bench {

namespace {

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  // Linear interpolation between closest ranks.
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const auto hi = static_cast<size_t>(std::ceil(pos));
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

double time_once_ms(const std::function<void()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  const auto end = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(end - start).count();
}

// A field of /proc/self/status in bytes ("VmRSS:   1234 kB").
int64_t status_field_bytes(const std::string& name) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, name.size() + 1, name + ":") == 0) {
      return std::stoll(line.substr(name.size() + 1)) * 1024;
    }
  }
  return 0;
}

}  // namespace

LatencyStats summarize(std::vector<double> times_ms, int64_t rows) {
  LatencyStats s;
  if (times_ms.empty()) return s;
  std::sort(times_ms.begin(), times_ms.end());
  s.runs = static_cast<int64_t>(times_ms.size());
  s.p50_ms = percentile(times_ms, 0.50);
  s.p95_ms = percentile(times_ms, 0.95);
  s.mean_ms = std::accumulate(times_ms.begin(), times_ms.end(), 0.0) /
              static_cast<double>(times_ms.size());
  s.min_ms = times_ms.front();
  s.max_ms = times_ms.back();
  s.throughput = s.p50_ms > 0 ? static_cast<double>(rows) * 1000.0 / s.p50_ms : 0;
  return s;
}

LatencyStats time_runs(const std::function<void()>& fn, int64_t warmup, int64_t runs,
                       int64_t rows, const std::function<void(int64_t, int64_t)>& progress) {
  for (int64_t i = 0; i < warmup; ++i) fn();
  std::vector<double> times;
  for (int64_t i = 0; i < runs; ++i) {
    times.push_back(time_once_ms(fn));
    if (progress) progress(i + 1, runs);
  }
  return summarize(times, rows);
}

std::vector<LatencyStats> time_round_robin(const std::vector<std::function<void()>>& fns,
                                           int64_t warmup, int64_t runs, int64_t rows,
                                           const std::function<void(int64_t, int64_t)>& progress,
                                           const std::vector<std::function<void()>>& before) {
  const size_t n = fns.size();
  auto prepare = [&](size_t m) {
    if (m < before.size() && before[m]) before[m]();
  };
  for (int64_t i = 0; i < warmup; ++i) {
    for (size_t m = 0; m < n; ++m) {
      prepare(m);
      fns[m]();
    }
  }
  std::vector<std::vector<double>> times(n);
  for (int64_t i = 0; i < runs; ++i) {
    // Each round starts with the next model, so that none always runs on a warmer cache (for
    // two: a b, b a, a b, ...).
    for (size_t k = 0; k < n; ++k) {
      const size_t m = (static_cast<size_t>(i) + k) % n;
      prepare(m);
      times[m].push_back(time_once_ms(fns[m]));
    }
    if (progress) progress(i + 1, runs);
  }
  std::vector<LatencyStats> out;
  for (auto& t : times) out.push_back(summarize(std::move(t), rows));
  return out;
}

PairedLatency time_alternating(const std::function<void()>& a, const std::function<void()>& b,
                               int64_t warmup, int64_t runs, int64_t rows,
                               const std::function<void(int64_t, int64_t)>& progress,
                               const std::vector<std::function<void()>>& before) {
  const auto both = time_round_robin({a, b}, warmup, runs, rows, progress, before);
  return {both[0], both[1]};
}

int64_t current_rss_bytes() { return status_field_bytes("VmRSS"); }
int64_t peak_rss_bytes() { return status_field_bytes("VmHWM"); }

MemoryStats measure_memory(const std::function<void()>& workload) {
  MemoryStats m;
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    m.isolated = static_cast<bool>(clear);
  }
  const int64_t before = current_rss_bytes();
  workload();
  m.peak_rss_bytes = status_field_bytes("VmHWM");
  m.delta_rss_bytes = std::max<int64_t>(0, m.peak_rss_bytes - before);
  return m;
}

int64_t file_bytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<int64_t>(n);
}

}  // namespace llmc::bench
