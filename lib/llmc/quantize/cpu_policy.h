// quantize's CPU-dependent choices, each a pure function of the parsed CPU features, what
// oneDNN dispatches to and the recipe: oneDNN's ISA cap, the range of dynamic-int8's run-time
// activation quantization, and the precision of activation x activation products. The quantize
// job asks them with util::cpu_features() and util::onednn_effective_isa(); the unit tests ask
// them over a table of CPU profiles (tests/unit/quantize/test_cpu_policy.cpp), so that one
// machine checks every branch.
#pragma once

#include <optional>
#include <string>

#include "llmc/quantize/recipe.h"
#include "llmc/util/cpu_features.h"
#include "llmc/util/onednn.h"

namespace llmc::quantize {

// The ISA oneDNN 2.6 dispatches to on a CPU with `cpu` under `cap` (nullopt or `all`: no cap):
// the newest the CPU has, no newer than the cap.
util::OnednnIsa onednn_isa_under(const util::CpuFeatures& cpu, std::optional<util::OnednnIsa> cap);

struct IsaDecision {
  std::optional<util::OnednnIsa> cap;  // what to cap oneDNN at; nullopt: leave it
  std::string reason;                  // "auto: ...", "recipe"
};
// `environment`: ONEDNN_MAX_CPU_ISA as set for this process ("" if unset).
IsaDecision decide_onednn_isa(const util::CpuFeatures& cpu, const QuantizeOptions& options,
                              const std::string& environment);

struct RangeDecision {
  bool full = false;        // 8 bits, else 7 (reduce_range)
  std::string warning;      // "" or why the choice may saturate
};
// dynamic-int8. Full 8-bit activations are safe only where oneDNN runs the int8 GEMM with VNNI:
// a CPU with AVX512-VNNI whose oneDNN is not capped below avx512_core_vnni, or AVX-VNNI.
RangeDecision decide_activation_range(const util::CpuFeatures& cpu, util::OnednnIsa effective,
                                      const QuantizeOptions& options);

struct MatmulDecision {
  bool bf16 = false;    // convert the activation products to bf16
  std::string reason;   // why, for the log
  std::string warning;  // "" or a cost of the choice
  std::string error;    // "" or why the recipe's explicit bf16 cannot run here (a RecipeError)
};
// The int8 schemes' activation x activation products (options.activation_matmuls).
//
// LibTorch 1.13 sends bf16 products to oneDNN on a CPU with AVX-512 F/BW/VL/DQ, and oneDNN
// then needs at least avx512_core: under a lower cap (onednn_isa: avx2, or ONEDNN_MAX_CPU_ISA)
// it fails ("could not create a primitive descriptor iterator"). auto turns bf16 on where
// oneDNN computes it natively: avx512_core_bf16 on a CPU without AMX (AMD Zen 4; measured
// faster there), or AMX itself; on an AMX CPU capped below AMX the products measured slower
// than float32 (docs/benchmarks.md), so auto keeps float32 there.
MatmulDecision decide_activation_matmuls(const util::CpuFeatures& cpu, util::OnednnIsa effective,
                                         const QuantizeOptions& options);

// Whether bf16 compute (the bf16 scheme, or bf16 products) can run on `cpu` with oneDNN at
// `effective`: "" if so, else why not.
std::string bf16_compute_blocker(const util::CpuFeatures& cpu, util::OnednnIsa effective);

}  // namespace llmc::quantize
