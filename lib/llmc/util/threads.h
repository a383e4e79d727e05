// Thread settings for every llmc run. LibTorch's OpenMP pool and OpenBLAS's own pthread pool
// fight over the cores when both are sized to the machine (fp32 ran several times slower at 2
// threads than at 1 on a 2-core machine). llmc gives the requested threads to one pool and
// keeps the other at one thread, and records what it chose in every report. Giving them to
// BLAS suits transformer encoders, whose time is mostly in GEMMs (measured in docs/cli.md).
#pragma once

#include <string>

namespace llmc::util {

struct ThreadSettings {
  int intra_op = 1;      // at::get_num_threads() after configuring
  int blas = -1;         // OpenBLAS threads after configuring; -1 when BLAS is not OpenBLAS
  std::string blas_name;  // "OpenBLAS <config>" or "unknown"
  std::string describe() const;
};

enum class ThreadPool { blas, libtorch };

ThreadSettings configure_threads(int threads, ThreadPool pool = ThreadPool::blas);

}  // namespace llmc::util
