// The order in which each subcommand runs llmc's graph passes (one pass a file in passes/), in
// one place, as pnnx's pass_level5() and onnxruntime's optimizer registry do. The sequences
// that stand on their own are functions here, called by the subcommands; the ones interleaved
// with LibTorch's own passes (freeze, graph-mode quantization, the ONNX preparation) run where
// those do, and pipelines.cpp lists them with the file that runs them.
#pragma once

#include <optional>
#include <vector>

#include <torch/script.h>

#include "llmc/passes/cast_boundary.h"
#include "llmc/passes/fp32_layer_norm.h"
#include "llmc/passes/fp32_rms_norm.h"
#include "llmc/passes/lowp_range_constants.h"
#include "llmc/passes/optimize_attention.h"
#include "llmc/util/json.h"

namespace llmc::passes {

// quantize and prune: the inference clean-up of a module, each pass when its recipe key is on.
struct InferenceCleanup {
  std::optional<AttentionRewrites> attention;  // optimize_attention ran
  std::optional<int> fused_gelu;               // fuse_tanh_gelu ran: expressions replaced
};
InferenceCleanup inference_cleanup(torch::jit::Module& model, bool optimize_attention,
                                   bool fuse_gelu);
// Its report entries, for the passes that ran: details.attention_rewrites ({scale_folded:
// [{module, linear, divisor, exact}], contiguous_transposed_operands: n}) and
// details.fused_gelu.
void add_details(const InferenceCleanup& cleanup, util::Json& details);

// quantize bf16: the frozen forward graph of a model whose weights were cast to bfloat16.
struct Bf16Compute {
  CastBoundaryResult boundary;
  Fp32LayerNormResult layer_norms;
  Fp32RmsNormResult rms_norms;
  int product_operands_cast = 0;  // lowp_compute_inputs
  LowpRangeConstantsResult range;
};
Bf16Compute bf16_compute(torch::jit::Graph& graph, const std::vector<bool>& float_inputs);

}  // namespace llmc::passes
