// The CPU's instruction-set extensions that llmc's choices depend on, parsed once from
// /proc/cpuinfo into a struct. Every CPU-dependent decision takes a CpuFeatures (never a flags
// string), so the decisions are pure functions that tests run over a table of CPU profiles.
#pragma once

#include <string>
#include <string_view>

namespace llmc::util {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_vnni = false;
  bool avx_vnni = false;  // the AVX2-encoded VNNI of Alder Lake and later
  bool avx512_bf16 = false;
  bool amx_tile = false;
  bool amx_bf16 = false;
  bool amx_int8 = false;

  // AVX-512 F, BW, VL and DQ: oneDNN's avx512_core, and LibTorch 1.13's test for sending bf16
  // products to oneDNN (mkldnn_bf16_device_check).
  bool avx512_core() const { return avx512f && avx512bw && avx512vl && avx512dq; }
  // int8 dot products without 16-bit intermediate sums (AVX512-VNNI or AVX-VNNI).
  bool vnni() const { return avx512_vnni || avx_vnni; }
  bool amx() const { return amx_tile && amx_bf16 && amx_int8; }

  // The flags that matter here, space-separated in a fixed order ("avx2 fma avx512f ..."), as the
  // report's provenance.machine.cpu_flags writes them.
  std::string to_string() const;
  bool operator==(const CpuFeatures& o) const;
};

// From the value of /proc/cpuinfo's "flags" line (whole words; unknown words are ignored).
CpuFeatures parse_cpu_flags(std::string_view flags);

// This machine's features, read from /proc/cpuinfo on first use.
const CpuFeatures& cpu_features();

}  // namespace llmc::util
