// The benchmark harness: latency summaries (closest-rank interpolation), alternating timing,
// peak resident memory of a workload, and file sizes.
#include <doctest/doctest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "llmc/bench/measure.h"
#include "test_support.h"

using llmc::bench::current_rss_bytes;
using llmc::bench::file_bytes;
using llmc::bench::LatencyStats;
using llmc::bench::measure_memory;
using llmc::bench::MemoryStats;
using llmc::bench::summarize;
using llmc::bench::time_alternating;
using llmc::bench::time_round_robin;

namespace {

constexpr int64_t kMiB = 1024 * 1024;

// Allocates `bytes` and writes every page through a volatile pointer, so neither the allocation
// nor the writes can be optimized away; frees it before returning.
void touch(int64_t bytes) {
  std::unique_ptr<char[]> buffer(new char[static_cast<size_t>(bytes)]);
  volatile char* p = buffer.get();
  for (int64_t i = 0; i < bytes; i += 4096) p[i] = static_cast<char>(i);
  p[bytes - 1] = 1;
}

// Linux keeps the resident-set counters per CPU and folds them in batches, so VmRSS and VmHWM
// can lag the true figure by a few hundred KiB (more on machines with many CPUs). Workloads
// below touch this much more than the figure asserted.
constexpr int64_t kCounterSlack = 8 * kMiB;

}  // namespace

TEST_CASE("summarize: percentiles interpolate between closest ranks; mean, min, max, throughput") {
  // Sorted: 1 2 3 4 5. p50 at rank 0.5*4 = 2 -> 3; p95 at rank 0.95*4 = 3.8 -> 4 + 0.8*(5-4).
  const LatencyStats s = summarize({5, 1, 4, 2, 3}, 8);
  CHECK(s.runs == 5);
  CHECK(s.p50_ms == 3.0);
  CHECK(s.p95_ms == doctest::Approx(4.8));
  CHECK(s.mean_ms == 3.0);
  CHECK(s.min_ms == 1.0);
  CHECK(s.max_ms == 5.0);
  CHECK(s.throughput == doctest::Approx(8 * 1000.0 / 3.0));
}

TEST_CASE("summarize: an even count interpolates the median") {
  // Sorted: 10 20 30 40. p50 at rank 1.5 -> 25; p95 at rank 2.85 -> 30 + 0.85*10 = 38.5.
  const LatencyStats s = summarize({40, 10, 30, 20}, 1);
  CHECK(s.runs == 4);
  CHECK(s.p50_ms == doctest::Approx(25.0));
  CHECK(s.p95_ms == doctest::Approx(38.5));
  CHECK(s.mean_ms == doctest::Approx(25.0));
  CHECK(s.min_ms == 10.0);
  CHECK(s.max_ms == 40.0);
  CHECK(s.throughput == doctest::Approx(40.0));  // 1 row * 1000 / 25 ms
}

TEST_CASE("summarize: a single run is every statistic") {
  const LatencyStats s = summarize({7.5}, 3);
  CHECK(s.runs == 1);
  CHECK(s.p50_ms == 7.5);
  CHECK(s.p95_ms == 7.5);
  CHECK(s.mean_ms == 7.5);
  CHECK(s.min_ms == 7.5);
  CHECK(s.max_ms == 7.5);
  CHECK(s.throughput == doctest::Approx(400.0));
}

TEST_CASE("summarize: empty input gives all zeros; a zero p50 gives zero throughput") {
  const LatencyStats e = summarize({}, 16);
  CHECK(e.runs == 0);
  CHECK(e.p50_ms == 0.0);
  CHECK(e.p95_ms == 0.0);
  CHECK(e.mean_ms == 0.0);
  CHECK(e.min_ms == 0.0);
  CHECK(e.max_ms == 0.0);
  CHECK(e.throughput == 0.0);
  const LatencyStats z = summarize({0, 0, 1}, 16);
  CHECK(z.p50_ms == 0.0);
  CHECK(z.throughput == 0.0);
}

TEST_CASE("time_round_robin: three models, each round starting with the next one") {
  std::string order;
  int progress_calls = 0;
  const auto result = time_round_robin({[&] { order += 'a'; }, [&] { order += 'b'; },
                                        [&] { order += 'c'; }},
                                       1, 4, 16, [&](int64_t done, int64_t total) {
                                         ++progress_calls;
                                         CHECK(total == 4);
                                         CHECK(done == progress_calls);
                                       });
  REQUIRE(result.size() == 3);
  for (const auto& r : result) {
    CHECK(r.runs == 4);
    CHECK(r.min_ms <= r.p50_ms);
  }
  CHECK(order == "abc" "abc" "bca" "cab" "abc");
  CHECK(progress_calls == 4);
  CHECK(time_round_robin({}, 2, 3, 1).empty());
}

TEST_CASE("time_alternating calls each function warmup + runs times and reports runs") {
  int a_calls = 0;
  int b_calls = 0;
  std::string order;
  const auto result = time_alternating([&] { ++a_calls; order += 'a'; },
                                       [&] { ++b_calls; order += 'b'; }, 3, 5, 4);
  CHECK(a_calls == 8);
  CHECK(b_calls == 8);
  CHECK(result.a.runs == 5);
  CHECK(result.b.runs == 5);
  // Warm-up in pairs, then timed runs alternating which goes first.
  CHECK(order == "ababab" "ab" "ba" "ab" "ba" "ab");
}

TEST_CASE("time_runs calls the function warmup + runs times, reports runs and progress") {
  int calls = 0;
  std::vector<int64_t> done;
  const LatencyStats s = llmc::bench::time_runs([&] { ++calls; }, 2, 3, 4,
                                                [&](int64_t d, int64_t total) {
                                                  CHECK(total == 3);
                                                  done.push_back(d);
                                                });
  CHECK(calls == 5);
  CHECK(s.runs == 3);
  CHECK(done == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("time_alternating with no runs only warms up") {
  int calls = 0;
  const auto result = time_alternating([&] { ++calls; }, [&] { ++calls; }, 2, 0, 1);
  CHECK(calls == 4);
  CHECK(result.a.runs == 0);
  CHECK(result.b.runs == 0);
  CHECK(result.a.p50_ms == 0.0);
}

TEST_CASE("time_alternating measures each function's own time") {
  const auto result = time_alternating(
      [] { std::this_thread::sleep_for(std::chrono::milliseconds(3)); }, [] {}, 1, 4, 10);
  CHECK(result.a.min_ms >= 3.0);
  CHECK(result.a.p50_ms >= 3.0);
  CHECK(result.b.p50_ms < result.a.p50_ms);
  CHECK(result.a.min_ms <= result.a.p50_ms);
  CHECK(result.a.p50_ms <= result.a.p95_ms);
  CHECK(result.a.p95_ms <= result.a.max_ms);
  CHECK(result.a.throughput == doctest::Approx(10 * 1000.0 / result.a.p50_ms));
}

TEST_CASE("current_rss_bytes is positive") { CHECK(current_rss_bytes() > 0); }

TEST_CASE("measure_memory sees a workload that touches 64 MiB") {
  const int64_t before = current_rss_bytes();
  REQUIRE(before > 0);
  const MemoryStats m = measure_memory([] { touch(64 * kMiB + kCounterSlack); });
  CAPTURE(before);
  CAPTURE(m.peak_rss_bytes);
  CAPTURE(m.delta_rss_bytes);
  CAPTURE(m.isolated);
  // The high-water mark covers the workload whether or not it could be reset.
  CHECK(m.peak_rss_bytes >= before + 64 * kMiB);
  CHECK(m.delta_rss_bytes >= 0);
  CHECK(m.delta_rss_bytes <= m.peak_rss_bytes);
  if (m.isolated) CHECK(m.delta_rss_bytes >= 64 * kMiB);
}

TEST_CASE("measure_memory, when isolated, does not report an earlier, higher peak") {
  touch(256 * kMiB);  // raise the process high-water mark, then give the memory back
  const int64_t before = current_rss_bytes();
  const MemoryStats m = measure_memory([] { touch(16 * kMiB + kCounterSlack); });
  CAPTURE(before);
  CAPTURE(m.peak_rss_bytes);
  CAPTURE(m.isolated);
  CHECK(m.peak_rss_bytes >= before + 16 * kMiB);
  if (m.isolated) {
    CHECK(m.delta_rss_bytes >= 16 * kMiB);
    CHECK(m.delta_rss_bytes < 16 * kMiB + kCounterSlack + 64 * kMiB);  // far below 256 MiB
  } else {
    CHECK(m.peak_rss_bytes >= 256 * kMiB - kCounterSlack);  // the process-wide peak
  }
}

TEST_CASE("file_bytes: the size of a file, 0 for a missing file or a directory") {
  llmc::test::TempDir dir;
  CHECK(file_bytes(dir.write("f.bin", std::string(1234, 'x'))) == 1234);
  CHECK(file_bytes(dir.write("empty", "")) == 0);
  CHECK(file_bytes((dir.path() / "missing").string()) == 0);
  CHECK(file_bytes(dir.path().string()) == 0);
}
