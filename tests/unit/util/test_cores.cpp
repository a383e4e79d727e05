// The cores `threads: auto` takes: the affinity mask bounded by a cgroup quota, from the texts
// the kernel writes.
#include <doctest/doctest.h>

#include "llmc/util/cores.h"
#include "llmc/util/error.h"

using namespace llmc::util;

TEST_CASE("cgroup v2 cpu.max: quota over period, none for max or a text that is not one") {
  CHECK(cgroup_v2_cpus("max 100000\n") == std::nullopt);
  CHECK(*cgroup_v2_cpus("200000 100000\n") == doctest::Approx(2.0));
  CHECK(*cgroup_v2_cpus("150000 100000") == doctest::Approx(1.5));
  CHECK(*cgroup_v2_cpus("50000 100000") == doctest::Approx(0.5));
  CHECK(cgroup_v2_cpus("") == std::nullopt);
  CHECK(cgroup_v2_cpus("100000") == std::nullopt);
  CHECK(cgroup_v2_cpus("abc 100000") == std::nullopt);
  CHECK(cgroup_v2_cpus("100000 0") == std::nullopt);
}

TEST_CASE("cgroup v1 quota and period: -1 is no quota") {
  CHECK(cgroup_v1_cpus("-1\n", "100000\n") == std::nullopt);
  CHECK(*cgroup_v1_cpus("300000\n", "100000\n") == doctest::Approx(3.0));
  CHECK(cgroup_v1_cpus("", "") == std::nullopt);
}

TEST_CASE("cores: the affinity bounded by the quota rounded down, never below 1") {
  struct Case {
    int affinity;
    std::optional<double> quota;
    int cores;
  };
  const Case cases[] = {
      {2, std::nullopt, 2},  // the 2-core machine, no limit
      {64, 4.0, 4},          // docker --cpus 4 on a large host
      {8, 1.5, 1},           // 1.5 CPUs: a second thread would be throttled
      {2, 16.0, 2},          // a quota above the CPUs it may run on
      {4, 0.5, 1},           // half a CPU
      {0, std::nullopt, 1},  // an affinity read that failed
  };
  for (const auto& c : cases) {
    CAPTURE(c.affinity);
    CHECK(cores_within_quota(c.affinity, c.quota) == c.cores);
  }
}

TEST_CASE("the process's cgroup v2 path from /proc/self/cgroup") {
  CHECK(cgroup_v2_path("0::/\n") == "/");
  CHECK(cgroup_v2_path("0::/user.slice/user-1000.slice/session-2.scope\n") ==
        "/user.slice/user-1000.slice/session-2.scope");
  CHECK(cgroup_v2_path("12:cpu,cpuacct:/docker/abc\n11:memory:/docker/abc\n") == "");
  CHECK(cgroup_v2_path("") == "");
}

TEST_CASE("this process has at least one core") { CHECK(available_cores() >= 1); }

TEST_CASE("threads: a number as given; auto from LLMC_THREADS, else the cores") {
  CHECK(resolve_threads(3, "1", 2) == 3);        // the recipe's or --threads' number wins
  CHECK(resolve_threads(0, nullptr, 2) == 2);    // auto, no LLMC_THREADS: the cores
  CHECK(resolve_threads(0, "", 8) == 8);         // set but empty: as unset
  CHECK(resolve_threads(0, "1", 8) == 1);        // a CI job bounding every run
  CHECK(resolve_threads(0, "auto", 4) == 4);
  CHECK(resolve_threads(0, nullptr, 0) == 1);    // never below 1
  for (const char* bad : {"0", "-2", "two", "2x", "1025", " 2"}) {
    CAPTURE(bad);
    CHECK_THROWS_WITH_AS(resolve_threads(0, bad, 2),
                         doctest::Contains("LLMC_THREADS"), llmc::UsageError);
  }
}
