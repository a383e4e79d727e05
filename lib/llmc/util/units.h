// Human-readable quantities for reports and logs.
#pragma once

#include <cstdint>
#include <string>

namespace llmc::util {

// "0 B", "1023 B", "1.00 KiB", "1.50 KiB", "5.00 MiB".
std::string human_bytes(int64_t bytes);

}  // namespace llmc::util
