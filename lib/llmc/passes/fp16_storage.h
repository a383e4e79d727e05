// Pass fp16_storage: float32 tensor constants of a frozen graph are stored as float16, each
// followed by a cast back to float32, so the file holds half the bytes while the model computes
// in float32 (LibTorch 1.13 has no CPU float16 kernels for addmm or layer_norm; the graph
// executor folds the casts into float32 constants on the first run). Tensors with values
// outside float16's range stay float32.
#pragma once

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// changed: tensors now stored as float16; left: the constants (by debug name) whose values do
// not fit float16 (reason kBeyondFloat16), which stay float32.
struct Fp16StorageResult : PassResult {
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
};
extern const char* const kBeyondFloat16;

Fp16StorageResult fp16_storage(torch::jit::Graph& graph);

}  // namespace llmc::passes
