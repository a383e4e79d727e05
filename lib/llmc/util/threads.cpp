#include "llmc/util/threads.h"

#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "llmc/util/cores.h"

namespace llmc::util {

namespace {

template <class Fn>
Fn blas_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

ThreadPlan& plan() {
  static ThreadPlan p;
  return p;
}

ThreadPool& current_pool() {
  static ThreadPool pool = ThreadPool::blas;
  return pool;
}

// Sets both pools: `threads` to `pool`, 1 to the other.
void apply(int threads, ThreadPool pool) {
  using SetThreads = void (*)(int);
  static const auto set_blas = blas_symbol<SetThreads>("openblas_set_num_threads");
  if (set_blas) set_blas(pool == ThreadPool::blas ? threads : 1);
  at::set_num_threads(pool == ThreadPool::libtorch ? threads : 1);
  current_pool() = pool;
}

}  // namespace

const char* pool_name(ThreadPool pool) { return pool == ThreadPool::blas ? "blas" : "libtorch"; }

std::string ThreadSettings::describe() const {
  const std::string pools =
      blas < 0 ? fmt::format("{} LibTorch intra-op thread(s), BLAS {}", intra_op, blas_name)
               : fmt::format("{} LibTorch intra-op thread(s), {} at {} thread(s)", intra_op,
                             blas_name, blas);
  if (!automatic) return pools;
  return fmt::format("{} thread(s), thread_pool auto: each model's pool by its operators "
                     "(latency.thread_pool); at start {}",
                     threads, pools);
}

ThreadSettings configure_threads(int threads, std::optional<ThreadPool> pool) {
  plan() = ThreadPlan{resolve_threads(threads), pool};
  apply(plan().threads, pool.value_or(ThreadPool::blas));
  ThreadSettings s;
  s.threads = plan().threads;
  s.automatic = !pool.has_value();
  using GetThreads = int (*)();
  using GetConfig = char* (*)();
  s.intra_op = at::get_num_threads();
  if (auto get_blas = blas_symbol<GetThreads>("openblas_get_num_threads")) s.blas = get_blas();
  if (auto config = blas_symbol<GetConfig>("openblas_get_config")) {
    s.blas_name = config();
  } else {
    s.blas_name = "unknown (not OpenBLAS)";
  }
  return s;
}

const ThreadPlan& thread_plan() { return plan(); }

ThreadPool use_pool(ThreadPool preferred, bool* switched) {
  const ThreadPool pool = plan().fixed.value_or(preferred);
  const bool moves = pool != current_pool();
  if (moves) apply(plan().threads, pool);
  if (switched != nullptr) *switched = moves;
  return pool;
}

}  // namespace llmc::util
