// libFuzzer target: the JSONL data reader (data::parse_samples) and the checks that follow it
// (token ids against a vocabulary, labels against a head). The first input byte picks the task,
// the forward arguments and max_length; the rest is the file. An InputError is the expected
// outcome of bad data; any other exception, a crash, or a table that breaks the invariants
// make_batch relies on (each field's values fill its shape, one rank per column, masks as long
// as the ids) is a finding.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "llmc/data/samples.h"
#include "llmc/util/error.h"

namespace {

using llmc::data::Field;
using llmc::data::SampleTable;

// The element count of the field's shape (0 with any empty dimension), saturating just past
// the number of values.
size_t numel(const Field& f) {
  for (int64_t d : f.shape) {
    if (d < 0) llmc::fuzz::finding("a negative dimension");
    if (d == 0) return 0;
  }
  size_t n = 1;
  for (int64_t d : f.shape) {
    n *= static_cast<size_t>(d);
    if (n > f.values.size()) return n;  // a mismatch already; no overflow past it
  }
  return n;
}

void check_invariants(const SampleTable& t) {
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (t.columns[c].size() != t.lines.size()) llmc::fuzz::finding("a column of another length");
    for (const Field& f : t.columns[c]) {
      if (numel(f) != f.values.size()) llmc::fuzz::finding("values that do not fill the shape");
      if (f.shape.size() != t.columns[c].front().shape.size()) {
        llmc::fuzz::finding("two ranks in one column");
      }
      if (t.kinds[c] != llmc::data::ColumnKind::values) {
        for (double v : f.values) {
          if (v < 0 || !f.integral) llmc::fuzz::finding("a bad id or mask value passed");
        }
      }
    }
  }
  for (const Field& f : t.labels) {
    if (numel(f) != f.values.size()) llmc::fuzz::finding("labels that do not fill the shape");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const auto task = static_cast<llmc::recipe::TaskKind>(control & 3);
  static const std::vector<std::vector<std::string>> kArgs = {
      {"input_ids", "attention_mask"}, {"x"}, {"input_ids", "token_type_ids", "attention_mask"},
      {"pixels", "input_ids"}};
  const auto& args = kArgs[(control >> 2) & 3];
  llmc::recipe::DataSpec spec;
  spec.path = "fuzz.jsonl";
  spec.labels = (control & 0x10) ? "labels" : "";
  spec.max_length = (control & 0x20) ? 4 : 0;
  spec.max_samples = (control & 0x40) ? 3 : 0;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  try {
    const SampleTable table = llmc::data::parse_samples(in, spec, args, task);
    check_invariants(table);
    llmc::data::check_token_ids(table, 100, "m.pt");
    llmc::data::check_label_classes(table, task, 3, "m.pt");
  } catch (const llmc::Error& e) {
    llmc::fuzz::check_message_bounded(e.what());
  } catch (const std::exception& e) {
    llmc::fuzz::finding(std::string("a non-llmc exception escaped the JSONL reader: ") + e.what());
  }
  return 0;
}
