// The passes of the quantize recipe key `activation_matmuls` (one name for the key, this file,
// the passes and the report's details.activation_matmuls / activation_matmuls_bf16).
//
// Pass activation_matmuls_bf16: every aten::matmul / aten::bmm whose two operands are both
// activations (neither is, through view-like ops, a constant or a module attribute — in a
// transformer these are the attention products Q·Kᵀ and P·V) computes in bfloat16: each operand
// is cast to a contiguous bf16 tensor and the product is cast back to the first operand's dtype.
// Everything around it (scaling, mask, softmax) stays float32. Matmuls with a weight operand are
// left alone. On CPUs with AVX512-BF16, LibTorch runs these products through oneDNN's bf16 GEMM.
#pragma once

#include <torch/script.h>

#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// changed: activation x activation products now computed in bf16; left: the products with a
// constant or attribute operand (reason kWeightOperand), which stay float.
PassResult activation_matmuls_bf16(torch::jit::Graph& graph);
extern const char* const kWeightOperand;

// Pass activation_matmuls_float32, the inverse for exporters whose runtimes have no bf16 GEMM
// (ONNX Runtime's CPU MatMul): every aten::matmul / aten::bmm whose two operands are both
// aten::to(…, bfloat16) casts (the second possibly through a transpose), as the pass above writes
// them, reads the uncast operands instead, so the product is computed in the operands' own
// (float32) precision and the cast back becomes a no-op. changed: the products restored; the dead
// casts are left for dead-code elimination.
PassResult activation_matmuls_float32(torch::jit::Graph& graph);

}  // namespace llmc::passes
