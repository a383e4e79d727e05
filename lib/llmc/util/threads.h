// Thread settings for every llmc run. LibTorch's OpenMP pool and OpenBLAS's own pthread pool
// fight over the cores when both are sized to the machine (fp32 ran several times slower at 2
// threads than at 1 on a 2-core machine). llmc gives the requested threads to one pool and
// keeps the other at one thread, and records what it chose in every report. Float32 matrix
// products run in OpenBLAS; int8, bf16/fp16 and convolution kernels and the element-wise
// operators in LibTorch's pool (measured in docs/cli.md#threads). With `thread_pool: auto` the
// pool follows the model being run (model::use_pool_for).
#pragma once

#include <optional>
#include <string>

namespace llmc::util {

enum class ThreadPool { blas, libtorch };

// "blas" or "libtorch", as the recipe's thread_pool spells it.
const char* pool_name(ThreadPool pool);

// A run's threads: how many, and the pool that gets them (nullopt: auto, per model).
struct ThreadPlan {
  int threads = 1;
  std::optional<ThreadPool> fixed;
};

struct ThreadSettings {
  int intra_op = 1;       // at::get_num_threads() after configuring
  int blas = -1;          // OpenBLAS threads after configuring; -1 when BLAS is not OpenBLAS
  std::string blas_name;  // "OpenBLAS <config>" or "unknown"
  int threads = 1;         // the plan's threads (util::resolve_threads)
  bool automatic = false;  // thread_pool: auto (the pool follows the model)
  std::string describe() const;
};

// Configures the threads (`threads` < 1: util::resolve_threads) for the rest of the process and
// remembers the plan; with an auto pool, BLAS gets them until use_pool says otherwise.
ThreadSettings configure_threads(int threads, std::optional<ThreadPool> pool);
// The plan of the last configure_threads.
const ThreadPlan& thread_plan();
// Gives the plan's threads to `preferred`, unless the plan fixes the pool; the pool in use.
// `switched`, when given, says whether the threads moved.
ThreadPool use_pool(ThreadPool preferred, bool* switched = nullptr);

}  // namespace llmc::util
