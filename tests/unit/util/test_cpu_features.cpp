// parse_cpu_flags reads /proc/cpuinfo's flags line by whole words.
#include <doctest/doctest.h>

#include "llmc/util/cpu_features.h"

using llmc::util::parse_cpu_flags;

TEST_CASE("flags are whole words: avx512_vnni does not imply avx512f or vnni of another kind") {
  const auto f = parse_cpu_flags("fpu sse avx2 fma avx512_vnni avx512_bf16x");
  CHECK(f.avx2);
  CHECK(f.fma);
  CHECK(f.avx512_vnni);
  CHECK_FALSE(f.avx512f);
  CHECK_FALSE(f.avx512_bf16);  // "avx512_bf16x" is another word
  CHECK_FALSE(f.avx_vnni);
  CHECK(f.vnni());
}

TEST_CASE("avx512_core needs F, BW, VL and DQ; amx needs tile, bf16 and int8") {
  CHECK(parse_cpu_flags("avx512f avx512bw avx512vl avx512dq").avx512_core());
  CHECK_FALSE(parse_cpu_flags("avx512f avx512bw avx512vl").avx512_core());
  CHECK(parse_cpu_flags("amx_tile amx_bf16 amx_int8").amx());
  CHECK_FALSE(parse_cpu_flags("amx_bf16 amx_int8").amx());
}

TEST_CASE("to_string writes the known flags in a fixed order and round-trips") {
  const auto f = parse_cpu_flags("\tamx_int8 avx2  avx512f\n");
  CHECK(f.to_string() == "avx2 avx512f amx_int8");
  CHECK(parse_cpu_flags(f.to_string()) == f);
  CHECK(parse_cpu_flags("").to_string().empty());
}

TEST_CASE("this machine's features parse and at least name AVX2 on x86-64 CI machines") {
  const auto& f = llmc::util::cpu_features();
  CHECK(parse_cpu_flags(f.to_string()) == f);
}
