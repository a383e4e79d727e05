// oneDNN's instruction-set cap. LibTorch's quantized engine "onednn" and its bf16 GEMMs run on
// oneDNN, which dispatches each primitive to the newest ISA the CPU has; ONEDNN_MAX_CPU_ISA (or
// dnnl_set_max_cpu_isa before the first primitive) caps it for a whole process.
//
// Why llmc caps it: with the oneDNN 2.6 that Debian's LibTorch 1.13 links, on a CPU with AMX
// the int8 GEMM behind quantized::linear_dynamic (runtime shapes, scales and zero points, so it
// is oneDNN's gemm:jit, not its AMX brgemm) measured 7.0 ms for 2048x256 by 256x1024 at one
// thread, against 2.4 ms with the cap at avx512_core_bf16 and 4.3 ms for float32 OpenBLAS.
#pragma once

#include <optional>
#include <string>

namespace llmc::util {

// From the newest to the oldest; `all` (no cap) only as a cap, sse41 only as what oneDNN
// dispatches to on a CPU without AVX2.
enum class OnednnIsa { all, avx512_core_amx, avx512_core_bf16, avx512_core_vnni, avx512_core, avx2, sse41 };

// Orders the ISAs: a larger rank includes every smaller one (all ranks above everything).
int onednn_isa_rank(OnednnIsa isa);

// "avx512_core_bf16", as the recipe key and the report write it.
std::string onednn_isa_name(OnednnIsa isa);
// The value ONEDNN_MAX_CPU_ISA takes for it ("AVX512_CORE_BF16"; "ALL").
std::string onednn_isa_env_value(OnednnIsa isa);

// ONEDNN_MAX_CPU_ISA (or the older DNNL_MAX_CPU_ISA) of this process's environment; "" if unset.
std::string onednn_isa_from_environment();
// An ISA named as ONEDNN_MAX_CPU_ISA or the recipe names it ("AVX512_CORE_BF16",
// "avx512_core_bf16", "ALL"), case-insensitive; nullopt for any other string (oneDNN knows a few
// more, such as AVX2_VNNI, which llmc does not name).
std::optional<OnednnIsa> parse_onednn_isa(const std::string& name);

// Caps oneDNN at `isa` in this process and, through ONEDNN_MAX_CPU_ISA, in the processes it
// starts (the memory probes). False when oneDNN had already picked its ISA in this process (the
// cap only takes effect before the first primitive), in which case nothing is changed.
bool cap_onednn_isa(OnednnIsa isa);

// The ISA oneDNN dispatches to in this process. Asking fixes it: a later cap_onednn_isa fails.
OnednnIsa onednn_effective_isa();

}  // namespace llmc::util
