// Data-parallel distill's torch-free decisions: the world from torchrun's variables, each
// worker's rows of a global batch and share of the evaluation, gradient buckets, threads per
// worker, dropout seeds, and the launcher's worker command line.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "llmc/distill/launch.h"
#include "llmc/distill/world.h"
#include "llmc/util/error.h"

using namespace llmc::distill;

namespace {

World world_of(const std::map<std::string, std::string>& vars) {
  return world_from([&](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  });
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    world_of(vars);
  } catch (const llmc::UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("the world from the variables torchrun sets") {
  CHECK_FALSE(world_of({}).distributed());
  CHECK_FALSE(world_of({{"WORLD_SIZE", "1"}, {"RANK", "0"}}).distributed());

  const World w = world_of({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"},
                            {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "10.0.0.1"},
                            {"MASTER_PORT", "29500"}});
  CHECK(w.distributed());
  CHECK(w.rank == 3);
  CHECK(w.size == 4);
  CHECK(w.local_rank == 1);
  CHECK(w.local_size == 2);
  CHECK(w.master_addr == "10.0.0.1");
  CHECK(w.master_port == 29500);
  CHECK(w.name() == "worker 3 of 4");

  // Without LOCAL_*: every worker on this machine, the local rank is the rank.
  const World local = world_of({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"},
                                {"MASTER_PORT", "1234"}});
  CHECK(local.local_rank == 1);
  CHECK(local.local_size == 2);

  // What is missing or wrong is named.
  CHECK(error_of({{"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}})
            .find("RANK is not set") == 0);
  CHECK(error_of({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_PORT", "1"}})
            .find("MASTER_ADDR is not set") == 0);
  CHECK(error_of({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "h"}})
            .find("MASTER_PORT is not set") == 0);
  CHECK(error_of({{"WORLD_SIZE", "2"}, {"RANK", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}) ==
        "RANK=2: expected an integer from 0 to 1");
  CHECK(error_of({{"WORLD_SIZE", "two"}}) == "WORLD_SIZE=two: expected an integer from 1 to 65536");
  CHECK(error_of({{"WORLD_SIZE", "2"}, {"RANK", "0"}, {"MASTER_ADDR", "h"},
                  {"MASTER_PORT", "70000"}}) == "MASTER_PORT=70000: expected an integer from 1 to 65535");
  CHECK(error_of({{"WORLD_SIZE", "4"}, {"RANK", "0"}, {"LOCAL_RANK", "2"}, {"LOCAL_WORLD_SIZE", "2"},
                  {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}) ==
        "LOCAL_RANK=2 must be below LOCAL_WORLD_SIZE=2");
}

TEST_CASE("each worker trains on its consecutive slice of the global batch") {
  // Global batch 8 x 3 workers = 24 rows.
  CHECK(worker_rows(24, 8, 0).begin == 0);
  CHECK(worker_rows(24, 8, 0).end == 8);
  CHECK(worker_rows(24, 8, 2).begin == 16);
  CHECK(worker_rows(24, 8, 2).end == 24);
  // A short last batch of 10 rows: 8, 2 and none.
  CHECK(worker_rows(10, 8, 0).size() == 8);
  CHECK(worker_rows(10, 8, 1).size() == 2);
  CHECK(worker_rows(10, 8, 2).size() == 0);
  // The slices of every worker cover the batch exactly once.
  for (int64_t rows : {1, 7, 23, 24}) {
    int64_t covered = 0, next = 0;
    for (int r = 0; r < 3; ++r) {
      const auto s = worker_rows(rows, 8, r);
      CHECK(s.begin == next);
      next = s.end;
      covered += s.size();
    }
    CHECK(covered == rows);
  }
}

TEST_CASE("evaluation batches are dealt round robin") {
  CHECK(worker_eval_batches(5, 0, 2) == std::vector<int64_t>{0, 2, 4});
  CHECK(worker_eval_batches(5, 1, 2) == std::vector<int64_t>{1, 3});
  CHECK(worker_eval_batches(1, 1, 2).empty());
  CHECK(worker_eval_batches(3, 0, 1) == std::vector<int64_t>{0, 1, 2});
}

TEST_CASE("gradient buckets: consecutive parameters up to the cap, every one once") {
  using Buckets = std::vector<std::vector<size_t>>;
  CHECK(plan_buckets({}, 100).empty());
  CHECK(plan_buckets({40, 40, 40}, 100) == Buckets{{0, 1}, {2}});
  CHECK(plan_buckets({40, 60, 1}, 100) == Buckets{{0, 1}, {2}});
  // A parameter above the cap is a bucket of its own.
  CHECK(plan_buckets({10, 500, 10, 10}, 100) == Buckets{{0}, {1}, {2, 3}});
  CHECK(plan_buckets({500}, 100) == Buckets{{0}});
  std::vector<int64_t> sizes;
  for (int i = 0; i < 200; ++i) sizes.push_back(1 + (i * 7919) % 300);
  size_t expected = 0;
  for (const auto& bucket : plan_buckets(sizes, 1000)) {
    int64_t bytes = 0;
    for (size_t i : bucket) {
      CHECK(i == expected++);
      bytes += sizes[i];
    }
    CHECK((bytes <= 1000 || bucket.size() == 1));
  }
  CHECK(expected == sizes.size());
}

TEST_CASE("threads per worker never oversubscribe the cores") {
  // requested, cores, workers on the machine -> threads
  CHECK(worker_threads(1, 2, 2) == 1);
  CHECK(worker_threads(2, 2, 2) == 1);
  CHECK(worker_threads(2, 2, 1) == 2);
  CHECK(worker_threads(8, 16, 2) == 8);
  CHECK(worker_threads(16, 16, 4) == 4);
  CHECK(worker_threads(4, 2, 8) == 1);  // more workers than cores: at least one
  CHECK(worker_threads(1, 0, 1) == 1);  // cores unknown
}

TEST_CASE("every worker and epoch its own dropout seed, reproducibly") {
  std::set<uint64_t> seeds;
  for (int64_t epoch = 0; epoch < 10; ++epoch) {
    for (int rank = 0; rank < 8; ++rank) seeds.insert(worker_seed(42, epoch, rank));
  }
  CHECK(seeds.size() == 80);
  CHECK(worker_seed(42, 3, 1) == worker_seed(42, 3, 1));
  CHECK(worker_seed(42, 3, 1) != worker_seed(43, 3, 1));
}

TEST_CASE("the launcher's workers run the command line without --nproc") {
  using Args = std::vector<std::string>;
  CHECK(without_nproc({"llmc", "distill", "r.yaml", "--nproc", "2", "--out", "o"}) ==
        Args{"llmc", "distill", "r.yaml", "--out", "o"});
  CHECK(without_nproc({"llmc", "-q", "distill", "--nproc=4", "r.yaml"}) ==
        Args{"llmc", "-q", "distill", "r.yaml"});
  CHECK(without_nproc({"llmc", "distill", "r.yaml"}) == Args{"llmc", "distill", "r.yaml"});
  const int port = free_local_port();
  CHECK(port > 0);
  CHECK(port < 65536);
}
