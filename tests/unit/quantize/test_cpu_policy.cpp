// quantize's CPU policy over a table of CPU profiles: every auto choice and every explicit cap,
// on AMD Zen 4, Intel Sapphire Rapids, Ice Lake, AVX2-only and AVX-VNNI machines, whatever CPU
// runs the suite.
#include "torch_doctest.h"

#include <string>
#include <vector>

#include "llmc/quantize/cpu_policy.h"

using llmc::quantize::decide_activation_matmuls;
using llmc::quantize::decide_activation_range;
using llmc::quantize::decide_onednn_isa;
using llmc::quantize::onednn_isa_under;
using llmc::util::OnednnIsa;
using llmc::util::parse_cpu_flags;
namespace q = llmc::quantize;

namespace {

// The flags of /proc/cpuinfo that matter, as these CPUs report them.
struct Profile {
  const char* name;
  const char* flags;
  OnednnIsa best;  // what oneDNN 2.6 dispatches to uncapped
};

const std::vector<Profile>& profiles() {
  static const std::vector<Profile> table = {
      {"AMD EPYC Zen 4", "avx2 fma avx512f avx512dq avx512bw avx512vl avx512_vnni avx512_bf16",
       OnednnIsa::avx512_core_bf16},
      {"Intel Sapphire Rapids",
       "avx2 fma avx512f avx512dq avx512bw avx512vl avx512_vnni avx512_bf16 amx_tile amx_bf16 "
       "amx_int8 avx_vnni",
       OnednnIsa::avx512_core_amx},
      {"Intel Ice Lake", "avx2 fma avx512f avx512dq avx512bw avx512vl avx512_vnni",
       OnednnIsa::avx512_core_vnni},
      {"Intel Skylake-SP", "avx2 fma avx512f avx512dq avx512bw avx512vl", OnednnIsa::avx512_core},
      {"AMD Zen 3 (AVX2 only)", "avx2 fma", OnednnIsa::avx2},
      {"Intel Alder Lake (AVX-VNNI)", "avx2 fma avx_vnni", OnednnIsa::avx2},
  };
  return table;
}

const Profile& profile(const std::string& name) {
  for (const auto& p : profiles()) {
    if (name == p.name) return p;
  }
  FAIL("no profile " << name);
  return profiles().front();
}

q::QuantizeOptions options(q::Scheme scheme = q::Scheme::dynamic_int8,
                           q::IsaCap cap = q::IsaCap::automatic) {
  q::QuantizeOptions o;
  o.scheme = scheme;
  o.onednn_isa = cap;
  return o;
}

}  // namespace

TEST_CASE("oneDNN dispatches to the newest ISA the CPU has, no newer than the cap") {
  for (const auto& p : profiles()) {
    INFO(p.name);
    const auto cpu = parse_cpu_flags(p.flags);
    CHECK(onednn_isa_under(cpu, std::nullopt) == p.best);
    CHECK(onednn_isa_under(cpu, OnednnIsa::all) == p.best);
    CHECK(onednn_isa_under(cpu, OnednnIsa::avx2) == OnednnIsa::avx2);
    const OnednnIsa bf16_cap = onednn_isa_under(cpu, OnednnIsa::avx512_core_bf16);
    CHECK(llmc::util::onednn_isa_rank(bf16_cap) <=
          llmc::util::onednn_isa_rank(OnednnIsa::avx512_core_bf16));
  }
  CHECK(onednn_isa_under(parse_cpu_flags("sse4_1"), std::nullopt) == OnednnIsa::sse41);
}

TEST_CASE("the prediction agrees with what oneDNN reports on this machine") {
  // Nothing in the unit tests caps oneDNN, so unless ONEDNN_MAX_CPU_ISA is set it runs uncapped.
  if (!llmc::util::onednn_isa_from_environment().empty()) return;
  CHECK(onednn_isa_under(llmc::util::cpu_features(), std::nullopt) ==
        llmc::util::onednn_effective_isa());
}

TEST_CASE("onednn_isa: auto caps only dynamic-int8 with onednn on AMX, and not under the "
          "environment's cap") {
  for (const auto& p : profiles()) {
    INFO(p.name);
    const auto cpu = parse_cpu_flags(p.flags);
    const auto d = decide_onednn_isa(cpu, options(), "");
    if (cpu.amx_int8) {
      REQUIRE(d.cap.has_value());
      CHECK(*d.cap == OnednnIsa::avx512_core_bf16);
    } else {
      CHECK_FALSE(d.cap.has_value());
    }
    CHECK_FALSE(decide_onednn_isa(cpu, options(q::Scheme::static_int8), "").cap.has_value());
    CHECK_FALSE(decide_onednn_isa(cpu, options(q::Scheme::bf16), "").cap.has_value());
    auto qnnpack = options();
    qnnpack.engine = q::Engine::qnnpack;
    CHECK_FALSE(decide_onednn_isa(cpu, qnnpack, "").cap.has_value());
    const auto env = decide_onednn_isa(cpu, options(), "AVX2");
    CHECK_FALSE(env.cap.has_value());
    CHECK(env.reason.find("from the environment") != std::string::npos);
    // An explicit cap is the recipe's, whatever the CPU.
    const auto explicit_cap = decide_onednn_isa(cpu, options(q::Scheme::bf16, q::IsaCap::avx2), "");
    REQUIRE(explicit_cap.cap.has_value());
    CHECK(*explicit_cap.cap == OnednnIsa::avx2);
  }
}

TEST_CASE("activation_range: auto is full only where oneDNN runs int8 with VNNI") {
  struct Row {
    const char* cpu;
    OnednnIsa effective;
    bool full;
    bool warns_if_forced_full;
  };
  const std::vector<Row> rows = {
      {"AMD EPYC Zen 4", OnednnIsa::avx512_core_bf16, true, false},
      {"AMD EPYC Zen 4", OnednnIsa::avx512_core, false, true},  // capped below VNNI
      {"AMD EPYC Zen 4", OnednnIsa::avx2, false, true},
      {"Intel Sapphire Rapids", OnednnIsa::avx512_core_bf16, true, false},
      {"Intel Ice Lake", OnednnIsa::avx512_core_vnni, true, false},
      {"Intel Skylake-SP", OnednnIsa::avx512_core, false, true},
      {"AMD Zen 3 (AVX2 only)", OnednnIsa::avx2, false, true},
      {"Intel Alder Lake (AVX-VNNI)", OnednnIsa::avx2, true, false},
  };
  for (const auto& r : rows) {
    INFO(r.cpu << " at " << llmc::util::onednn_isa_name(r.effective));
    const auto cpu = parse_cpu_flags(profile(r.cpu).flags);
    const auto d = decide_activation_range(cpu, r.effective, options());
    CHECK(d.full == r.full);
    CHECK(d.warning.empty());
    auto forced = options();
    forced.activation_range = q::ActivationRange::full;
    const auto f = decide_activation_range(cpu, r.effective, forced);
    CHECK(f.full);
    CHECK(f.warning.empty() == !r.warns_if_forced_full);
    auto reduced = options();
    reduced.activation_range = q::ActivationRange::reduced;
    CHECK_FALSE(decide_activation_range(cpu, r.effective, reduced).full);
    auto qnnpack = options();
    qnnpack.engine = q::Engine::qnnpack;
    CHECK_FALSE(decide_activation_range(cpu, r.effective, qnnpack).full);
  }
}

TEST_CASE("activation_matmuls over CPU profiles and caps: auto never leaves bf16 products that "
          "oneDNN cannot run, and an explicit bf16 that cannot run is an error") {
  struct Row {
    const char* cpu;
    OnednnIsa effective;
    bool auto_bf16;
    bool explicit_ok;
    bool explicit_warns;
  };
  const std::vector<Row> rows = {
      // The combination that failed the e2e suite on AMD Zen 4 (onednn_isa: avx2).
      {"AMD EPYC Zen 4", OnednnIsa::avx2, false, false, false},
      {"AMD EPYC Zen 4", OnednnIsa::avx512_core_bf16, true, true, false},
      {"AMD EPYC Zen 4", OnednnIsa::avx512_core_vnni, false, true, true},
      {"AMD EPYC Zen 4", OnednnIsa::avx512_core, false, true, true},
      {"Intel Sapphire Rapids", OnednnIsa::avx512_core_amx, true, true, false},
      {"Intel Sapphire Rapids", OnednnIsa::avx512_core_bf16, false, true, false},  // capped
      {"Intel Sapphire Rapids", OnednnIsa::avx2, false, false, false},
      {"Intel Ice Lake", OnednnIsa::avx512_core_vnni, false, true, true},
      {"Intel Skylake-SP", OnednnIsa::avx512_core, false, true, true},
      {"Intel Skylake-SP", OnednnIsa::avx2, false, false, false},
      // Without AVX-512, LibTorch computes bf16 itself (slowly): allowed, with a warning.
      {"AMD Zen 3 (AVX2 only)", OnednnIsa::avx2, false, true, true},
      {"Intel Alder Lake (AVX-VNNI)", OnednnIsa::avx2, false, true, true},
  };
  for (const auto& r : rows) {
    INFO(r.cpu << " at " << llmc::util::onednn_isa_name(r.effective));
    const auto cpu = parse_cpu_flags(profile(r.cpu).flags);
    const auto a = decide_activation_matmuls(cpu, r.effective, options());
    CHECK(a.bf16 == r.auto_bf16);
    CHECK(a.error.empty());
    CHECK_FALSE(a.reason.empty());
    auto bf16 = options();
    bf16.activation_matmuls = q::MatmulPrecision::bf16;
    const auto e = decide_activation_matmuls(cpu, r.effective, bf16);
    CHECK(e.error.empty() == r.explicit_ok);
    CHECK(e.bf16 == r.explicit_ok);
    if (!r.explicit_ok) CHECK(e.error.find("onednn_isa") != std::string::npos);
    if (r.explicit_ok) CHECK(e.warning.empty() == !r.explicit_warns);
    auto fp32 = options();
    fp32.activation_matmuls = q::MatmulPrecision::fp32;
    CHECK_FALSE(decide_activation_matmuls(cpu, r.effective, fp32).bf16);
    // The bf16 scheme has the same requirement.
    CHECK(llmc::quantize::bf16_compute_blocker(cpu, r.effective).empty() == r.explicit_ok);
  }
}

TEST_CASE("the policy and the prediction together: each profile's auto run has runnable bf16") {
  for (const auto& p : profiles()) {
    for (const auto cap : {q::IsaCap::automatic, q::IsaCap::all, q::IsaCap::avx512_core_amx,
                           q::IsaCap::avx512_core_bf16, q::IsaCap::avx512_core_vnni,
                           q::IsaCap::avx512_core, q::IsaCap::avx2}) {
      const auto cpu = parse_cpu_flags(p.flags);
      const auto o = options(q::Scheme::dynamic_int8, cap);
      const auto effective = onednn_isa_under(cpu, decide_onednn_isa(cpu, o, "").cap);
      const auto d = decide_activation_matmuls(cpu, effective, o);
      INFO(p.name << " cap " << static_cast<int>(cap));
      if (d.bf16) CHECK(llmc::quantize::bf16_compute_blocker(cpu, effective).empty());
    }
  }
}
