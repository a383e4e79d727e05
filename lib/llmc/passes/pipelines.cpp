// Each subcommand's passes, in the order they run. Each returns a PassResult (pass_result.h):
// `changed` counted, `left` with the reasons; report/pass_details.cpp and the subcommands turn
// them into report entries and warnings.
//
// Every subcommand, as it loads a model (model::load, model/load.cpp):
//   decompose_sdpa            PyTorch 2.x attention into LibTorch 1.13's operators, first, so
//                             that every later pass sees attention as an eager model writes it.
//
// eval-freeze (freeze/eval_freeze.cpp), around LibTorch's freeze:
//   bake_eval_mode            a trace's train=True constants to eval, before eval() and freeze
//                             (freeze would keep them);
//   torch::jit::freeze
//   fuse_tanh_gelu            on the frozen graph (recipe key fuse_gelu);
//   optimize_for_inference    LibTorch's, kept only when its result can be saved.
//
// quantize (quantize/quantize.cpp), on the module before it is frozen or quantized:
//   inference_cleanup         below: optimize_attention (fold_attention_scale, then
//                             contiguous_transposed_operand), then fuse_tanh_gelu; the scale
//                             is folded into the float weights before they are quantized;
//   conv1d_to_linear          int8 schemes: GPT-2's Conv1D layers become Linear layers, which
//                             LibTorch's quantization passes recognise (job::canonicalize_...);
//   then the scheme:
//   - dynamic-int8 / static-int8 (quantize/int8.cpp), after LibTorch's observers,
//     quant-dequant insertion and Finalize: quantize_lstm (dynamic), quantize_embeddings
//     (recipe key embeddings), activation_matmuls_bf16 (recipe key activation_matmuls) last,
//     on the finalized graph whose remaining float products it changes;
//   - bf16 (quantize/lowp.cpp), after freeze: bf16_compute below;
//   - fp16 (quantize/lowp.cpp), after freeze: fp16_storage.
//
// prune (prune/prune.cpp):
//   conv1d_to_linear          before the layers are selected (Conv1D layers are pruned as Linear);
//   the pruning;
//   inference_cleanup         after pruning: folding the attention scale into the weights must
//                             not change their magnitude rankings across layers.
//
// export-onnx (onnx/prepare.cpp), after LibTorch's freeze and inlining:
//   bake_eval_mode (dry run)  a model traced in training mode is refused;
//   activation_matmuls_float32  undoes activation_matmuls_bf16 (ONNX Runtime's CPU MatMul has
//                             no bf16), before LibTorch's folding passes;
//   functional_slice_assign   slice assignments as cat, before LibTorch removes mutation.
//
// distill (distill/distill.cpp), bf16 autocast: lowp_range_constants on the teacher and student
// modules. With distill.qat (distill/qat.cpp), from qat.start_epoch on: fake_quantize_linear on
// a clone of the student that shares its parameters (the student itself is not rewritten);
// after training, quantize's passes above convert the best student.
#include "llmc/passes/pipelines.h"

#include "llmc/passes/fuse_tanh_gelu.h"
#include "llmc/passes/lowp_compute_inputs.h"
#include "llmc/util/log.h"

namespace llmc::passes {

InferenceCleanup inference_cleanup(torch::jit::Module& model, bool optimize_attention_on,
                                   bool fuse_gelu) {
  InferenceCleanup c;
  if (optimize_attention_on) {
    c.attention = optimize_attention(model);
    log::debug(describe("optimize_attention", *c.attention));
  }
  if (fuse_gelu) {
    c.fused_gelu = fuse_tanh_gelu(model);
    log::debug(describe("fuse_tanh_gelu", *c.fused_gelu));
  }
  return c;
}

Bf16Compute bf16_compute(torch::jit::Graph& graph, const std::vector<bool>& float_inputs) {
  Bf16Compute r;
  // The order quantize's bf16 scheme has always run them in.
  r.boundary = cast_boundary(graph, at::kBFloat16, float_inputs);
  r.layer_norms = fp32_layer_norm(graph);
  r.rms_norms = fp32_rms_norm(graph);
  r.product_operands = lowp_compute_inputs(graph, at::kBFloat16);
  r.range = lowp_range_constants(graph);
  log::debug(describe("cast_boundary", r.boundary));
  log::debug(describe("fp32_layer_norm", r.layer_norms));
  log::debug(describe("fp32_rms_norm", r.rms_norms));
  log::debug(describe("lowp_compute_inputs", r.product_operands));
  log::debug(describe("lowp_range_constants", r.range));
  return r;
}

}  // namespace llmc::passes
