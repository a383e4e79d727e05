// Pass bf16_activation_matmuls: every aten::matmul / aten::bmm whose two operands are both
// activations (neither is, through view-like ops, a constant or a module attribute — in a
// transformer these are the attention products Q·Kᵀ and P·V) computes in bfloat16: each operand
// is cast to a contiguous bf16 tensor and the product is cast back to the first operand's dtype.
// Everything around it (scaling, mask, softmax) stays float32. Matmuls with a weight operand are
// left alone. On CPUs with AVX512-BF16, LibTorch runs these products through oneDNN's bf16 GEMM.
#pragma once

#include <torch/script.h>

namespace llmc::passes {

struct Bf16MatmulResult {
  int converted = 0;      // activation x activation products now computed in bf16
  int weight_operand = 0;  // products with a constant or attribute operand, left float
};

Bf16MatmulResult bf16_activation_matmuls(torch::jit::Graph& graph);

}  // namespace llmc::passes
