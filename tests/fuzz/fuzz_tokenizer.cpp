// libFuzzer target: text data through the SentencePiece tokenizer (data/tokenizer.h, loaded from
// libllmc_spm.so beside this binary) — the raw input as one text, and the input as a JSONL file
// whose `text` fields are tokenized into input_ids and attention_mask (data::parse_samples).
// The model is trained at build time from tests/fuzz/spm_text.txt. An InputError is the expected
// outcome of bad data; any other exception, a crash, or ids outside the vocabulary are findings.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "fuzz_support.h"
#include "llmc/data/samples.h"
#include "llmc/data/tokenizer.h"
#include "llmc/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const llmc::data::Tokenizer tokenizer(LLMC_FUZZ_SPM_MODEL);
  const std::string input(reinterpret_cast<const char*>(data), size);
  try {
    for (int id : tokenizer.encode(input, (size & 1) != 0)) {
      if (id < 0 || id >= tokenizer.vocab_size()) llmc::fuzz::finding("an id outside the vocabulary");
    }
    llmc::recipe::DataSpec spec;
    spec.path = "fuzz.jsonl";
    spec.text = "text";
    spec.tokenizer = LLMC_FUZZ_SPM_MODEL;
    spec.max_length = 8;
    std::istringstream in(input);
    const auto table =
        llmc::data::parse_samples(in, spec, {"input_ids", "attention_mask"},
                                  llmc::recipe::TaskKind::language_model);
    llmc::data::check_token_ids(table, tokenizer.vocab_size(), "m.pt");
  } catch (const llmc::Error& e) {
    llmc::fuzz::check_message_bounded(e.what());
  } catch (const std::exception& e) {
    llmc::fuzz::finding(std::string("a non-llmc exception escaped the tokenizer path: ") + e.what());
  }
  return 0;
}
