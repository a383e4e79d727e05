// memory_budget: what is available (MemAvailable, a cgroup's memory.max below it) and the
// verdict for a run's needs.
#include <doctest/doctest.h>

#include "llmc/util/error.h"
#include "llmc/util/memory_budget.h"

using llmc::util::Fit;
using llmc::util::MemoryNeed;

namespace {
const char* kMeminfo =
    "MemTotal:       24576000 kB\n"
    "MemFree:         1000000 kB\n"
    "MemAvailable:   20000000 kB\n"
    "Buffers:          100000 kB\n";
}  // namespace

TEST_CASE("memory available: MemAvailable, or what a cgroup's memory.max leaves when less") {
  const auto plain = llmc::util::parse_memory_available(kMeminfo, "", "");
  REQUIRE(plain);
  CHECK(plain->bytes == 20000000ull * 1024);
  CHECK(plain->source == "MemAvailable");
  // "max": no limit.
  CHECK(llmc::util::parse_memory_available(kMeminfo, "max\n", "5000\n")->source == "MemAvailable");
  // A 4 GiB limit with 1 GiB in use leaves 3 GiB.
  const auto limited = llmc::util::parse_memory_available(kMeminfo, "4294967296\n", "1073741824\n");
  REQUIRE(limited);
  CHECK(limited->bytes == 3ull << 30);
  CHECK(limited->source == "the cgroup's memory.max");
  // A limit above MemAvailable changes nothing; one already exceeded leaves 0.
  CHECK(llmc::util::parse_memory_available(kMeminfo, "99999999999999\n", "0\n")->bytes ==
        20000000ull * 1024);
  CHECK(llmc::util::parse_memory_available(kMeminfo, "100\n", "200\n")->bytes == 0);
  // No MemAvailable line (or garbage): nothing known, no check.
  CHECK_FALSE(llmc::util::parse_memory_available("MemTotal: 5 kB\n", "", ""));
  CHECK_FALSE(llmc::util::parse_memory_available("MemAvailable: lots\n", "", ""));
}

TEST_CASE("memory verdict: refused below the lower bound, a warning below the usual figure") {
  MemoryNeed need;
  need.weights = 4ull << 30;  // a 1.1 B-parameter float32 model
  need.min_copies = 2;
  need.usual_copies = 3;
  const uint64_t runtime = llmc::util::kRuntimeBytes;
  CHECK(llmc::util::min_bytes(need) == (8ull << 30) + runtime);
  CHECK(llmc::util::usual_bytes(need) == (12ull << 30) + runtime);
  CHECK(llmc::util::judge_memory(need, 24ull << 30) == Fit::fits);
  CHECK(llmc::util::judge_memory(need, (12ull << 30) + runtime) == Fit::fits);
  CHECK(llmc::util::judge_memory(need, 10ull << 30) == Fit::tight);
  CHECK(llmc::util::judge_memory(need, (8ull << 30) + runtime) == Fit::tight);
  CHECK(llmc::util::judge_memory(need, 8ull << 30) == Fit::cannot);
  CHECK(llmc::util::judge_memory(need, 0) == Fit::cannot);
}

TEST_CASE("the check: off with --no-memory-check, nothing to check without weights, refusal names the file") {
  MemoryNeed need;
  need.weights = uint64_t{1} << 50;  // 1 PiB: no machine here has twice that
  need.what = "eval-freeze holds two copies of the weights at its peak";
  CHECK(llmc::util::check_memory("big.pt", need, /*check=*/false).empty());
  MemoryNeed none;
  CHECK(llmc::util::check_memory("empty.pt", none, true).empty());
  try {
    llmc::util::check_memory("big.pt", need, true);
    FAIL("expected InputError");
  } catch (const llmc::InputError& e) {
    CHECK(e.path() == "big.pt");
    CHECK(std::string(e.what()).find("does not fit in memory") != std::string::npos);
    CHECK(std::string(e.what()).find("eval-freeze holds two copies") != std::string::npos);
    CHECK(e.hint().find("--no-memory-check") != std::string::npos);
  }
}
