#include "llmc/util/threads.h"

#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <fmt/format.h>

namespace llmc::util {

namespace {
template <class Fn>
Fn blas_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}
}  // namespace

std::string ThreadSettings::describe() const {
  return blas < 0 ? fmt::format("{} LibTorch intra-op thread(s), BLAS {}", intra_op, blas_name)
                  : fmt::format("{} LibTorch intra-op thread(s), {} at {} thread(s)", intra_op,
                                blas_name, blas);
}

ThreadSettings configure_threads(int threads, ThreadPool pool) {
  ThreadSettings s;
  using SetThreads = void (*)(int);
  using GetThreads = int (*)();
  using GetConfig = char* (*)();
  const int blas_threads = pool == ThreadPool::blas ? threads : 1;
  if (auto set_blas = blas_symbol<SetThreads>("openblas_set_num_threads")) set_blas(blas_threads);
  at::set_num_threads(pool == ThreadPool::libtorch ? threads : 1);
  s.intra_op = at::get_num_threads();
  if (auto get_blas = blas_symbol<GetThreads>("openblas_get_num_threads")) s.blas = get_blas();
  if (auto config = blas_symbol<GetConfig>("openblas_get_config")) {
    s.blas_name = config();
  } else {
    s.blas_name = "unknown (not OpenBLAS)";
  }
  return s;
}

}  // namespace llmc::util
