// Pass fp16_storage: float32 tensor constants of a frozen graph are stored as float16, each
// followed by a cast back to float32, so the file holds half the bytes while the model computes
// in float32 (LibTorch 1.13 has no CPU float16 kernels for addmm or layer_norm; the graph
// executor folds the casts into float32 constants on the first run). Tensors with values
// outside float16's range stay float32.
#pragma once

#include <string>
#include <vector>

#include <torch/script.h>

namespace llmc::passes {

struct Fp16StorageResult {
  int64_t tensors = 0;
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
  std::vector<std::string> kept_fp32;  // constants whose values do not fit float16
};

Fp16StorageResult fp16_storage(torch::jit::Graph& graph);

}  // namespace llmc::passes
