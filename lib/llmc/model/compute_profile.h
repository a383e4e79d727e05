// What a model computes with, counted from its forward graph: which of LibTorch's two thread
// pools does its work. Float32 matrix products run in OpenBLAS's pthreads; int8 kernels (oneDNN,
// QNNPACK), bfloat16/float16 products and convolutions (oneDNN) and the element-wise operators
// run in LibTorch's intra-op OpenMP pool. `thread_pool: auto` gives the threads to the pool the
// model spends most in (docs/cli.md#threads has the measurements behind the rule).
#pragma once

#include <cstdint>
#include <string>

#include <torch/script.h>

#include "llmc/util/threads.h"

namespace llmc::model {

struct ComputeProfile {
  int64_t float_products = 0;  // linear, matmul, bmm, LSTM ... on float32 weights
  int64_t half_products = 0;   // the same on a model whose weights are mostly bf16/fp16
  int64_t int8_ops = 0;        // quantized:: kernels (linear, dynamic linear, conv, LSTM)
  int64_t convolutions = 0;    // float convolutions
};

ComputeProfile compute_profile(const torch::jit::Module& module);

// The pool that gets the threads: BLAS when float32 products are the majority of the counted
// operators, LibTorch's otherwise. Pure, unit-tested on a table of model kinds.
util::ThreadPool preferred_pool(const ComputeProfile& profile);

// The pool `module` is run with under the run's thread plan: the plan's fixed pool, or with
// thread_pool auto the preferred pool of its compute profile.
util::ThreadPool pool_for(const torch::jit::Module& module);
// The same, and gives the threads to that pool (util::use_pool).
util::ThreadPool use_pool_for(const torch::jit::Module& module);

}  // namespace llmc::model
