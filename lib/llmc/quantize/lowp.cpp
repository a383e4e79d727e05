// The floating-point schemes: bf16 (weights and compute in bfloat16, norms in float32) and fp16
// (weights stored in half precision, computed in float32).
#include "llmc/quantize/quantize.h"

#include <fmt/format.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>

#include "llmc/passes/fp16_storage.h"
#include "llmc/passes/pipelines.h"
#include "llmc/util/cpu_features.h"

namespace llmc::quantize {

QuantizeOutcome cast_bf16(torch::jit::Module model, const std::vector<bool>& float_inputs) {
  // Fresh types and methods; the tensors are `model`'s own, cast in place (set_data), so every
  // alias sees bfloat16 — weights tied between modules, an LSTM's _flat_weights list — and no
  // float32 copy of the model is made.
  torch::jit::Module m = model.clone(/*inplace=*/true);
  m.eval();
  int64_t tensors = 0;
  int64_t bytes_before = 0;
  int64_t bytes_after = 0;
  auto cast = [&](at::Tensor t) {
    if (!t.defined() || !t.is_floating_point() || t.scalar_type() == at::kBFloat16) return;
    bytes_before += t.numel() * static_cast<int64_t>(t.element_size());
    t.set_data(t.to(at::kBFloat16));
    bytes_after += t.numel() * 2;
    ++tensors;
  };
  // Only floating-point tensors: Module::to(dtype) would also cast integer buffers such as
  // position ids.
  for (const auto& p : m.named_parameters(true)) cast(p.value);
  for (const auto& b : m.named_buffers(true)) cast(b.value);
  torch::jit::Module frozen = torch::jit::freeze(m, c10::nullopt, /*optimize_numerics=*/true);
  auto graph = frozen.get_method("forward").graph();
  const passes::Bf16Compute c = passes::bf16_compute(*graph, float_inputs);
  torch::jit::EliminateDeadCode(graph);
  QuantizeOutcome out;
  out.quantized = frozen;
  out.details["scheme"] = "bf16";
  out.details["tensors_cast"] = tensors;
  out.details["weight_bytes_before"] = bytes_before;
  out.details["weight_bytes_after"] = bytes_after;
  out.details["inputs_cast_to_bf16"] = c.boundary.inputs_cast;
  out.details["outputs_cast_to_fp32"] = c.boundary.outputs_cast;
  out.details["layer_norms_fp32"] = c.layer_norms.changed;
  out.details["rms_norms_fp32"] = c.rms_norms.changed;
  out.details["rms_norms_already_fp32"] = c.rms_norms.left_count(passes::kAlreadyFloat32);
  out.details["product_operands_cast"] = c.product_operands.changed;
  out.details["constants_clamped_to_bf16_range"] = c.range.changed;
  out.details["cpu_has_avx512_bf16"] = util::cpu_features().avx512_bf16;
  return out;
}

QuantizeOutcome store_fp16(const torch::jit::Module& model) {
  // Shared tensors: freezing folds them into constants and fp16_storage adds half copies.
  torch::jit::Module m = model.clone(/*inplace=*/true);
  m.eval();
  torch::jit::Module frozen = torch::jit::freeze(m, c10::nullopt, /*optimize_numerics=*/true);
  const auto r = passes::fp16_storage(*frozen.get_method("forward").graph());
  QuantizeOutcome out;
  out.quantized = frozen;
  out.details["scheme"] = "fp16";
  out.details["compute"] = "float32 (LibTorch 1.13 has no CPU float16 kernels)";
  out.details["tensors_stored_fp16"] = r.changed;
  out.details["weight_bytes_before"] = r.bytes_before;
  out.details["weight_bytes_after"] = r.bytes_after;
  util::Json kept = util::Json::array();
  for (const auto& left : r.left) kept.push_back(left.site);
  out.details["kept_fp32_out_of_range"] = kept;
  if (!r.left.empty()) {
    out.warnings.push_back(fmt::format("{} weight tensors have values beyond float16's range and "
                                       "stay float32",
                                       r.left.size()));
  }
  return out;
}

}  // namespace llmc::quantize
