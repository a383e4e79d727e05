// libFuzzer target: the walk over a TorchScript archive's data.pkl / constants.pkl that finds
// what each storage record must hold (model::storage_needs), fed the pickle bytes directly. An
// InputError is the expected outcome of a malformed pickle; any other exception or a crash is a
// finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "llmc/model/archive_check.h"
#include "llmc/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string pickle(reinterpret_cast<const char*>(data), size);
  try {
    llmc::model::storage_needs(pickle, "fuzz.pt", "fuzz/data.pkl");
  } catch (const llmc::Error& e) {
    llmc::fuzz::check_message_bounded(e.what());
  } catch (const std::exception& e) {
    llmc::fuzz::finding(std::string("a non-llmc exception escaped the pickle walk: ") + e.what());
  }
  return 0;
}
