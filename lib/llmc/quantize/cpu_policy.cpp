#include "llmc/quantize/cpu_policy.h"

#include <fmt/format.h>

namespace llmc::quantize {

using util::OnednnIsa;

util::OnednnIsa onednn_isa_under(const util::CpuFeatures& cpu, std::optional<OnednnIsa> cap) {
  OnednnIsa best = OnednnIsa::sse41;
  if (cpu.avx2) best = OnednnIsa::avx2;
  if (cpu.avx2 && cpu.avx512_core()) {
    best = OnednnIsa::avx512_core;
    if (cpu.avx512_vnni) best = OnednnIsa::avx512_core_vnni;
    if (cpu.avx512_vnni && cpu.avx512_bf16) best = OnednnIsa::avx512_core_bf16;
    if (cpu.avx512_vnni && cpu.avx512_bf16 && cpu.amx()) best = OnednnIsa::avx512_core_amx;
  }
  if (!cap || *cap == OnednnIsa::all) return best;
  return util::onednn_isa_rank(*cap) < util::onednn_isa_rank(best) ? *cap : best;
}

IsaDecision decide_onednn_isa(const util::CpuFeatures& cpu, const QuantizeOptions& options,
                              const std::string& environment) {
  switch (options.onednn_isa) {
    case IsaCap::automatic:
      if (!environment.empty()) {
        return {std::nullopt, "auto: ONEDNN_MAX_CPU_ISA=" + environment + " from the environment"};
      }
      if (options.scheme == Scheme::dynamic_int8 && options.engine == Engine::onednn &&
          cpu.amx_int8) {
        return {OnednnIsa::avx512_core_bf16,
                "auto: dynamic-int8 on a CPU with AMX, whose int8 GEMMs run faster on "
                "AVX512-VNNI in this oneDNN"};
      }
      return {std::nullopt, "auto: no cap"};
    case IsaCap::all: return {OnednnIsa::all, "recipe"};
    case IsaCap::avx512_core_amx: return {OnednnIsa::avx512_core_amx, "recipe"};
    case IsaCap::avx512_core_bf16: return {OnednnIsa::avx512_core_bf16, "recipe"};
    case IsaCap::avx512_core_vnni: return {OnednnIsa::avx512_core_vnni, "recipe"};
    case IsaCap::avx512_core: return {OnednnIsa::avx512_core, "recipe"};
    case IsaCap::avx2: return {OnednnIsa::avx2, "recipe"};
  }
  return {std::nullopt, "auto: no cap"};
}

RangeDecision decide_activation_range(const util::CpuFeatures& cpu, OnednnIsa effective,
                                      const QuantizeOptions& options) {
  // AVX-VNNI (no AVX-512): oneDNN 2.6 runs it as avx2_vnni, which ranks as avx2 here.
  const bool vnni_in_use =
      (cpu.avx512_vnni &&
       util::onednn_isa_rank(effective) >= util::onednn_isa_rank(OnednnIsa::avx512_core_vnni)) ||
      (cpu.avx_vnni && !cpu.avx512_vnni &&
       util::onednn_isa_rank(effective) >= util::onednn_isa_rank(OnednnIsa::avx2));
  RangeDecision d;
  switch (options.activation_range) {
    case ActivationRange::full: d.full = true; break;
    case ActivationRange::reduced: d.full = false; break;
    case ActivationRange::automatic: d.full = vnni_in_use && options.engine == Engine::onednn; break;
  }
  if (d.full && !vnni_in_use) {
    d.warning = cpu.vnni()
                    ? fmt::format("activation_range: full with oneDNN capped at {}, below VNNI: "
                                  "int8 products can saturate in the kernels' 16-bit "
                                  "intermediate sums",
                                  util::onednn_isa_name(effective))
                    : "activation_range: full on a CPU without VNNI: int8 products can "
                      "saturate in the kernels' 16-bit intermediate sums";
  }
  return d;
}

std::string bf16_compute_blocker(const util::CpuFeatures& cpu, OnednnIsa effective) {
  // LibTorch 1.13 uses its own (slow, but working) bf16 kernels where the CPU lacks AVX-512 core.
  if (!cpu.avx512_core()) return "";
  if (util::onednn_isa_rank(effective) >= util::onednn_isa_rank(OnednnIsa::avx512_core)) return "";
  return fmt::format("bf16 needs oneDNN at avx512_core or newer on this CPU (LibTorch sends bf16 "
                     "products to oneDNN on AVX-512 CPUs), but oneDNN is capped at {}",
                     util::onednn_isa_name(effective));
}

MatmulDecision decide_activation_matmuls(const util::CpuFeatures& cpu, OnednnIsa effective,
                                         const QuantizeOptions& options) {
  MatmulDecision d;
  const std::string blocker = bf16_compute_blocker(cpu, effective);
  const bool native = util::onednn_isa_rank(effective) >=
                      util::onednn_isa_rank(OnednnIsa::avx512_core_bf16);
  const bool amx_capped = cpu.amx() && effective != OnednnIsa::avx512_core_amx;
  switch (options.activation_matmuls) {
    case MatmulPrecision::fp32:
      d.reason = "recipe: fp32";
      return d;
    case MatmulPrecision::bf16:
      if (!blocker.empty()) {
        d.error = "activation_matmuls: bf16 cannot run here: " + blocker +
                  " (raise quantize.onednn_isa or ONEDNN_MAX_CPU_ISA, or use fp32)";
        return d;
      }
      d.bf16 = true;
      d.reason = "recipe: bf16";
      if (!native) {
        d.warning = cpu.avx512_bf16
                        ? fmt::format("activation_matmuls: bf16 with oneDNN capped at {}, below "
                                      "AVX512-BF16: oneDNN converts instead of computing "
                                      "natively, which can be slower than float32",
                                      util::onednn_isa_name(effective))
                        : "activation_matmuls: bf16 on a CPU without AVX512-BF16: oneDNN "
                          "converts instead of computing natively, which can be slower than "
                          "float32";
      }
      return d;
    case MatmulPrecision::automatic:
      if (!native) {
        d.reason = cpu.avx512_bf16
                       ? fmt::format("auto: float32 (oneDNN is capped at {}, below AVX512-BF16)",
                                     util::onednn_isa_name(effective))
                       : "auto: float32 (the CPU has no AVX512-BF16)";
      } else if (amx_capped) {
        d.reason = "auto: float32 (oneDNN is capped below AMX, where bf16 products measured "
                   "slower than float32)";
      } else {
        d.bf16 = true;
        d.reason = fmt::format("auto: bf16 (oneDNN computes bf16 natively at {})",
                               util::onednn_isa_name(effective));
      }
      return d;
  }
  return d;
}

}  // namespace llmc::quantize
