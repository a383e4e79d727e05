// oneDNN's ISA cap: names, the environment, and that a cap after oneDNN has chosen is refused.
#include <cstdlib>

#include "torch_doctest.h"

#include "llmc/util/onednn.h"

using llmc::util::OnednnIsa;

TEST_CASE("ISA names match the recipe key and ONEDNN_MAX_CPU_ISA's values") {
  CHECK(llmc::util::onednn_isa_name(OnednnIsa::avx512_core_bf16) == "avx512_core_bf16");
  CHECK(llmc::util::onednn_isa_env_value(OnednnIsa::avx512_core_bf16) == "AVX512_CORE_BF16");
  CHECK(llmc::util::onednn_isa_env_value(OnednnIsa::all) == "ALL");
  CHECK(llmc::util::onednn_isa_env_value(OnednnIsa::avx512_core_amx) == "AVX512_CORE_AMX");
}

TEST_CASE("ISA names parse back, case-insensitively, and rank from oldest to newest") {
  for (OnednnIsa isa : {OnednnIsa::all, OnednnIsa::avx512_core_amx, OnednnIsa::avx512_core_bf16,
                        OnednnIsa::avx512_core_vnni, OnednnIsa::avx512_core, OnednnIsa::avx2,
                        OnednnIsa::sse41}) {
    CHECK(llmc::util::parse_onednn_isa(llmc::util::onednn_isa_name(isa)) == isa);
    CHECK(llmc::util::parse_onednn_isa(llmc::util::onednn_isa_env_value(isa)) == isa);
  }
  CHECK_FALSE(llmc::util::parse_onednn_isa("avx9").has_value());
  CHECK_FALSE(llmc::util::parse_onednn_isa("AVX2_VNNI").has_value());
  CHECK(llmc::util::onednn_isa_rank(OnednnIsa::avx2) < llmc::util::onednn_isa_rank(OnednnIsa::avx512_core));
  CHECK(llmc::util::onednn_isa_rank(OnednnIsa::avx512_core_amx) < llmc::util::onednn_isa_rank(OnednnIsa::all));
}

TEST_CASE("the environment's ISA is read from ONEDNN_MAX_CPU_ISA, then DNNL_MAX_CPU_ISA") {
  const char* saved = std::getenv("ONEDNN_MAX_CPU_ISA");
  const std::string keep = saved ? saved : "";
  unsetenv("ONEDNN_MAX_CPU_ISA");
  setenv("DNNL_MAX_CPU_ISA", "AVX2", 1);
  CHECK(llmc::util::onednn_isa_from_environment() == "AVX2");
  setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE", 1);
  CHECK(llmc::util::onednn_isa_from_environment() == "AVX512_CORE");
  unsetenv("DNNL_MAX_CPU_ISA");
  if (saved) setenv("ONEDNN_MAX_CPU_ISA", keep.c_str(), 1); else unsetenv("ONEDNN_MAX_CPU_ISA");
}

TEST_CASE("once oneDNN has chosen its ISA, a cap is refused and the environment is untouched") {
  const OnednnIsa effective = llmc::util::onednn_effective_isa();  // fixes the ISA
  const char* before = std::getenv("ONEDNN_MAX_CPU_ISA");
  const std::string kept = before ? before : "<unset>";
  CHECK_FALSE(llmc::util::cap_onednn_isa(OnednnIsa::avx2));
  const char* after = std::getenv("ONEDNN_MAX_CPU_ISA");
  CHECK((after ? std::string(after) : std::string("<unset>")) == kept);
  CHECK(llmc::util::onednn_effective_isa() == effective);
}
