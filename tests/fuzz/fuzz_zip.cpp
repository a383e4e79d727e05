// libFuzzer target: sniffing a TorchScript archive without LibTorch — its zip central directory
// (model/zip_directory.h: entries, zip64, local headers, stored and deflated data) and the
// storage-record check over its pickles (model/archive_check.h). An InputError is the expected
// outcome of a bad archive; any other exception or a crash is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "llmc/model/archive_check.h"
#include "llmc/model/zip_directory.h"
#include "llmc/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = llmc::fuzz::write_temp(data, size, ".pt");
  try {
    if (const auto dir = llmc::model::read_zip_directory(path)) {
      size_t n = 0;
      for (const auto& e : dir->entries) {
        if (++n > 64) break;
        llmc::model::entry_data_offset(path, e);
        llmc::model::read_entry(path, e, 1 << 20);
      }
    }
    llmc::model::check_storage_records(path);
  } catch (const llmc::Error& e) {
    llmc::fuzz::check_message_bounded(e.what());
  } catch (const std::exception& e) {
    llmc::fuzz::finding(std::string("a non-llmc exception escaped the archive check: ") + e.what());
  }
  return 0;
}
