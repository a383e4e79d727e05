#include "llmc/util/machine.h"

#include "llmc/util/cpu_features.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>

namespace llmc::util {

MachineInfo machine_info() {
  MachineInfo m;
  m.cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  m.memory_bytes = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    if (key == "model name") {
      m.cpu_model = colon + 2 <= line.size() ? line.substr(colon + 2) : "";
      break;
    }
  }
  m.cpu_flags = cpu_features().to_string();
  struct utsname u {};
  if (uname(&u) == 0) m.os = std::string(u.sysname) + " " + u.release;
  return m;
}

}  // namespace llmc::util
