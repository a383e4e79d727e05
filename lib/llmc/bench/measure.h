// The one benchmark harness: latency over timed runs after warm-up (two models timed
// alternately, run by run, so that noise on a shared machine hits both alike), peak resident
// memory of a workload, and file sizes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace llmc::bench {

struct LatencyStats {
  int64_t runs = 0;
  double p50_ms = 0;
  double p95_ms = 0;
  double mean_ms = 0;
  double min_ms = 0;
  double max_ms = 0;
  double throughput = 0;  // rows (samples) per second at p50
  std::string thread_pool;  // the pool that had the threads ("blas", "libtorch"; "" not known)
};

// Summarizes run times (milliseconds); `rows` is the batch size of one run.
LatencyStats summarize(std::vector<double> times_ms, int64_t rows);

// Warms `fn` up `warmup` times, then times it `runs` times (one model alone, e.g. when the other
// side of a comparison runs in another process). `progress` as below.
LatencyStats time_runs(const std::function<void()>& fn, int64_t warmup, int64_t runs,
                       int64_t rows, const std::function<void(int64_t, int64_t)>& progress = {});

struct PairedLatency {
  LatencyStats a;
  LatencyStats b;
};

// Warms up both functions `warmup` times, then times them alternately `runs` times each.
// `progress`, when set, is called after each timed pair with (done, runs).
// `before`, when given, has one untimed step per function run before each of its runs (e.g.
// giving the threads to the pool that model runs in).
PairedLatency time_alternating(const std::function<void()>& a, const std::function<void()>& b,
                               int64_t warmup, int64_t runs, int64_t rows,
                               const std::function<void(int64_t, int64_t)>& progress = {},
                               const std::vector<std::function<void()>>& before = {});

// The same for any number of models (llmc compare): one timed run of each per round, every
// round starting with the next model; one LatencyStats per function, in order.
std::vector<LatencyStats> time_round_robin(
    const std::vector<std::function<void()>>& fns, int64_t warmup, int64_t runs, int64_t rows,
    const std::function<void(int64_t, int64_t)>& progress = {},
    const std::vector<std::function<void()>>& before = {});

struct MemoryStats {
  int64_t peak_rss_bytes = 0;   // process peak resident set while the workload ran
  int64_t delta_rss_bytes = 0;  // that peak minus the resident set before it started
  bool isolated = false;        // true when the peak could be reset before the workload
};

// Runs `workload` once and measures the resident-set high-water mark it reached. On Linux the
// high-water mark is reset first (/proc/self/clear_refs), so the figure belongs to this
// workload; where that is not allowed the process-wide peak is reported (isolated = false).
MemoryStats measure_memory(const std::function<void()>& workload);

int64_t current_rss_bytes();
// This process's peak resident set so far (VmHWM), in bytes.
int64_t peak_rss_bytes();
int64_t file_bytes(const std::string& path);

}  // namespace llmc::bench
