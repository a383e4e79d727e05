#include "llmc/util/onednn.h"

#include <cctype>
#include <cstdlib>

#include <oneapi/dnnl/dnnl.h>

namespace llmc::util {

namespace {

dnnl_cpu_isa_t to_dnnl(OnednnIsa isa) {
  switch (isa) {
    case OnednnIsa::all: return dnnl_cpu_isa_all;
    case OnednnIsa::avx512_core_amx: return dnnl_cpu_isa_avx512_core_amx;
    case OnednnIsa::avx512_core_bf16: return dnnl_cpu_isa_avx512_core_bf16;
    case OnednnIsa::avx512_core_vnni: return dnnl_cpu_isa_avx512_core_vnni;
    case OnednnIsa::avx512_core: return dnnl_cpu_isa_avx512_core;
    case OnednnIsa::avx2: return dnnl_cpu_isa_avx2;
    case OnednnIsa::sse41: return dnnl_cpu_isa_sse41;
  }
  return dnnl_cpu_isa_all;
}

}  // namespace

std::string onednn_isa_name(OnednnIsa isa) {
  switch (isa) {
    case OnednnIsa::all: return "all";
    case OnednnIsa::avx512_core_amx: return "avx512_core_amx";
    case OnednnIsa::avx512_core_bf16: return "avx512_core_bf16";
    case OnednnIsa::avx512_core_vnni: return "avx512_core_vnni";
    case OnednnIsa::avx512_core: return "avx512_core";
    case OnednnIsa::avx2: return "avx2";
    case OnednnIsa::sse41: return "sse41";
  }
  return "?";
}

int onednn_isa_rank(OnednnIsa isa) {
  switch (isa) {
    case OnednnIsa::sse41: return 0;
    case OnednnIsa::avx2: return 1;
    case OnednnIsa::avx512_core: return 2;
    case OnednnIsa::avx512_core_vnni: return 3;
    case OnednnIsa::avx512_core_bf16: return 4;
    case OnednnIsa::avx512_core_amx: return 5;
    case OnednnIsa::all: return 6;
  }
  return 0;
}

std::optional<OnednnIsa> parse_onednn_isa(const std::string& name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (OnednnIsa isa : {OnednnIsa::all, OnednnIsa::avx512_core_amx, OnednnIsa::avx512_core_bf16,
                        OnednnIsa::avx512_core_vnni, OnednnIsa::avx512_core, OnednnIsa::avx2,
                        OnednnIsa::sse41}) {
    if (lower == onednn_isa_name(isa)) return isa;
  }
  return std::nullopt;
}

std::string onednn_isa_env_value(OnednnIsa isa) {
  std::string s = onednn_isa_name(isa);
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string onednn_isa_from_environment() {
  for (const char* name : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return v;
  }
  return "";
}

bool cap_onednn_isa(OnednnIsa isa) {
  if (dnnl_set_max_cpu_isa(to_dnnl(isa)) != dnnl_success) return false;
  ::setenv("ONEDNN_MAX_CPU_ISA", onednn_isa_env_value(isa).c_str(), 1);
  return true;
}

OnednnIsa onednn_effective_isa() {
  // The values are bit sets, each ISA a superset of the ones below it: the largest match wins.
  const unsigned effective = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  for (OnednnIsa isa : {OnednnIsa::avx512_core_amx, OnednnIsa::avx512_core_bf16,
                        OnednnIsa::avx512_core_vnni, OnednnIsa::avx512_core, OnednnIsa::avx2}) {
    const unsigned bits = static_cast<unsigned>(to_dnnl(isa));
    if ((effective & bits) == bits) return isa;
  }
  return OnednnIsa::sse41;
}

}  // namespace llmc::util
