// The order in which each subcommand runs llmc's graph passes (one pass a file in passes/), in
// one place, as pnnx's pass_level5() and onnxruntime's optimizer registry do. The sequences
// that stand on their own are functions here, called by the subcommands; the ones interleaved
// with LibTorch's own passes (freeze, graph-mode quantization, the ONNX preparation) run where
// those do, and pipelines.cpp lists them with the file that runs them. Every pass returns a
// PassResult (pass_result.h); the report entries the subcommands make of these results are
// built in report/pass_details.h, not here.
#pragma once

#include <optional>
#include <vector>

#include <torch/script.h>

#include "llmc/passes/cast_boundary.h"
#include "llmc/passes/fp32_layer_norm.h"
#include "llmc/passes/fp32_rms_norm.h"
#include "llmc/passes/lowp_range_constants.h"
#include "llmc/passes/optimize_attention.h"
#include "llmc/passes/pass_result.h"

namespace llmc::passes {

// quantize and prune: the inference clean-up of a module, each pass when its recipe key is on.
struct InferenceCleanup {
  std::optional<AttentionRewrites> attention;  // optimize_attention ran
  std::optional<PassResult> fused_gelu;        // fuse_tanh_gelu ran
};
InferenceCleanup inference_cleanup(torch::jit::Module& model, bool optimize_attention,
                                   bool fuse_gelu);

// quantize bf16: the frozen forward graph of a model whose weights were cast to bfloat16.
struct Bf16Compute {
  CastBoundaryResult boundary;  // cast_boundary
  PassResult layer_norms;       // fp32_layer_norm
  PassResult rms_norms;         // fp32_rms_norm
  PassResult product_operands;  // lowp_compute_inputs
  PassResult range;             // lowp_range_constants
};
Bf16Compute bf16_compute(torch::jit::Graph& graph, const std::vector<bool>& float_inputs);

}  // namespace llmc::passes
