#include "llmc/util/cpu_features.h"

#include <fstream>
#include <utility>
#include <vector>

namespace llmc::util {

namespace {

// Name in /proc/cpuinfo and the member it sets, in the order to_string() writes them.
const std::vector<std::pair<const char*, bool CpuFeatures::*>>& flag_table() {
  static const std::vector<std::pair<const char*, bool CpuFeatures::*>> table = {
      {"avx2", &CpuFeatures::avx2},
      {"fma", &CpuFeatures::fma},
      {"avx512f", &CpuFeatures::avx512f},
      {"avx512bw", &CpuFeatures::avx512bw},
      {"avx512vl", &CpuFeatures::avx512vl},
      {"avx512dq", &CpuFeatures::avx512dq},
      {"avx512_vnni", &CpuFeatures::avx512_vnni},
      {"avx_vnni", &CpuFeatures::avx_vnni},
      {"avx512_bf16", &CpuFeatures::avx512_bf16},
      {"amx_tile", &CpuFeatures::amx_tile},
      {"amx_bf16", &CpuFeatures::amx_bf16},
      {"amx_int8", &CpuFeatures::amx_int8},
  };
  return table;
}

CpuFeatures read_cpu_features() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string_view key = std::string_view(line).substr(0, line.find_first_of(" \t:"));
    if (key == "flags") return parse_cpu_flags(std::string_view(line).substr(colon + 1));
  }
  return {};
}

}  // namespace

CpuFeatures parse_cpu_flags(std::string_view flags) {
  CpuFeatures f;
  size_t i = 0;
  while (i < flags.size()) {
    while (i < flags.size() && (flags[i] == ' ' || flags[i] == '\t')) ++i;
    size_t j = i;
    while (j < flags.size() && flags[j] != ' ' && flags[j] != '\t' && flags[j] != '\n') ++j;
    const std::string_view word = flags.substr(i, j - i);
    for (const auto& [name, member] : flag_table()) {
      if (word == name) f.*member = true;
    }
    i = j + 1;
  }
  return f;
}

std::string CpuFeatures::to_string() const {
  std::string out;
  for (const auto& [name, member] : flag_table()) {
    if (this->*member) out += (out.empty() ? "" : " ") + std::string(name);
  }
  return out;
}

bool CpuFeatures::operator==(const CpuFeatures& o) const {
  for (const auto& [name, member] : flag_table()) {
    if (this->*member != o.*member) return false;
  }
  return true;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = read_cpu_features();
  return features;
}

}  // namespace llmc::util
