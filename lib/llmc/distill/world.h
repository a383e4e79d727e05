// Data-parallel distill, the torch-free part: which worker this process is (from the variables
// torchrun sets: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), the
// slice of each global batch a worker trains on, the evaluation batches it runs, the gradient
// buckets it all-reduces, and the threads it may use. Pure functions, unit-tested over tables.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace llmc::distill {

struct World {
  int rank = 0;         // RANK: 0 .. size - 1; rank 0 writes checkpoints, artifact and report
  int size = 1;         // WORLD_SIZE
  int local_rank = 0;   // LOCAL_RANK: the worker's index on its machine
  int local_size = 1;   // LOCAL_WORLD_SIZE: workers on this machine (threads are shared by them)
  std::string master_addr;  // MASTER_ADDR: where rank 0's TCPStore listens
  int master_port = 0;      // MASTER_PORT
  bool distributed() const { return size > 1; }
  std::string name() const;  // "worker 1 of 2"
};

// The world from environment variables read through `get` (nullopt: unset). No WORLD_SIZE (or
// WORLD_SIZE=1): one process. Inconsistent values are a UsageError naming the variable.
World world_from(const std::function<std::optional<std::string>(const std::string&)>& get);
// world_from(getenv).
World world_from_environment();

// The rows [begin, end) of a global batch of `rows` rows that worker `rank` trains on: each
// worker takes `per_worker` consecutive rows (the recipe's batch_size), so a global batch is
// batch_size x WORLD_SIZE rows; in a short last batch the high ranks get fewer rows or none.
struct RowRange {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t size() const { return end - begin; }
};
RowRange worker_rows(int64_t rows, int64_t per_worker, int rank);

// The evaluation batches worker `rank` runs: every size-th, starting at its rank.
std::vector<int64_t> worker_eval_batches(int64_t batches, int rank, int size);

// Gradient buckets: consecutive parameters (by index) whose bytes add up to at most `cap_bytes`;
// a parameter larger than the cap is a bucket of its own. Every index appears exactly once, in
// order.
std::vector<std::vector<size_t>> plan_buckets(const std::vector<int64_t>& bytes, int64_t cap_bytes);

// The seed of worker `rank`'s random stream (dropout) in `epoch` of a data-parallel run: every
// worker its own, reproducible on --resume without saving the generators.
uint64_t worker_seed(uint64_t seed, int64_t epoch, int rank);

// Threads for one worker: the recipe's `threads`, at most the machine's cores shared by the
// workers on it (cores / local_size, at least 1), so that they do not oversubscribe the cores.
int worker_threads(int requested, int cores, int local_size);

}  // namespace llmc::distill
