// Shared by the libFuzzer targets: a private temporary file for inputs the code under test reads
// by path, and the rule that an llmc error is an expected outcome while anything else is a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace llmc::fuzz {

// A file in $TMPDIR (created once per process, removed at exit) holding `bytes`.
const std::string& write_temp(const uint8_t* data, size_t size, const char* suffix);

// Stops the run as a finding: libFuzzer keeps the input as crash-*.
[[noreturn]] void finding(const std::string& what);

// Every line of an error message is bounded and there are few of them (docs/cli.md: echoed
// values are cut, error lists capped); `finding` otherwise.
void check_message_bounded(const std::string& message);

}  // namespace llmc::fuzz
