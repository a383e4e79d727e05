// A description of the machine for provenance and benchmark records.
#pragma once

#include <cstdint>
#include <string>

namespace llmc::util {

struct MachineInfo {
  std::string cpu_model;  // "Intel(R) Xeon(R) ..." from /proc/cpuinfo
  int cores = 0;          // online logical CPUs
  int64_t memory_bytes = 0;
  std::string os;         // kernel name and release
  std::string cpu_flags;  // the SIMD extensions that matter here: avx2 avx512f avx512_vnni ...
};

MachineInfo machine_info();

}  // namespace llmc::util
