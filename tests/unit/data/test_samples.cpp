// Data files read into samples: SentencePiece text, truncation, batches with padding, errors.
#include "llmc/data/inputs.h"

#include "torch_doctest.h"

#include <cstdlib>

#include "llmc/data/tokenizer.h"
#include "llmc/util/error.h"
#include "test_support.h"

using llmc::test::fixture;

TEST_CASE("the SentencePiece tokenizer matches spm_encode and adds BOS") {
  llmc::data::Tokenizer tok(fixture("distill_spm.model"));
  CHECK(tok.vocab_size() > 100);
  CHECK(tok.pad_id() == 0);
  const auto ids = tok.encode("a12x z3q b7x", false);
  CHECK(ids.size() == 3);
  const auto with_bos = tok.encode("a12x z3q b7x", true);
  REQUIRE(with_bos.size() == 4);
  CHECK(with_bos[0] == 2);
  CHECK(std::vector<int>(with_bos.begin() + 1, with_bos.end()) == ids);
  CHECK_THROWS_AS(llmc::data::Tokenizer(fixture("distill_test.jsonl")), llmc::InputError);
}

TEST_CASE("read_samples: text becomes input_ids/attention_mask, truncated; batches pad") {
  llmc::test::TempDir dir;
  llmc::recipe::DataSpec spec;
  spec.path = dir.write("d.jsonl",
                        "{\"text\": \"a1x a2x a3x a4x a5x a6x\", \"labels\": [1, 0]}\n"
                        "\n"
                        "{\"text\": \"b1x\", \"labels\": [0, 1]}\n");
  spec.text = "text";
  spec.tokenizer = fixture("distill_spm.model");
  spec.labels = "labels";
  spec.max_length = 4;
  const auto table = llmc::data::read_samples(spec, {"input_ids", "attention_mask"});
  REQUIRE(table.size() == 2);
  CHECK(table.lines == std::vector<int64_t>{1, 3});
  CHECK(table.columns[0][0].shape == std::vector<int64_t>{4});  // BOS + 3, truncated
  CHECK(table.columns[0][1].shape == std::vector<int64_t>{2});  // BOS + 1
  const auto batch = llmc::data::make_batch(table, {1, 0});
  const auto ids = batch.args[0].toTensor();
  const auto mask = batch.args[1].toTensor();
  CHECK(ids.sizes() == torch::IntArrayRef({2, 4}));
  CHECK(mask[0].sum().item<int64_t>() == 2);  // the short one, padded
  CHECK(ids[0][3].item<int64_t>() == 0);
  CHECK(batch.labels.sizes() == torch::IntArrayRef({2, 2}));
  CHECK(batch.labels[0][1].item<float>() == 1.0f);

  // A line without the text field names file and line.
  spec.path = dir.write("e.jsonl", "{\"text\": \"a1x\", \"labels\": [1, 0]}\n{\"labels\": [1, 0]}\n");
  try {
    llmc::data::read_samples(spec, {"input_ids", "attention_mask"});
    FAIL("expected an InputError");
  } catch (const llmc::InputError& e) {
    CHECK(std::string(e.what()).find("missing text field \"text\"") != std::string::npos);
    CHECK(e.path() == spec.path + ":2");
  }
}

TEST_CASE("language-model labels: the ids with padding ignored") {
  llmc::data::Batch b;
  b.args = {torch::tensor({{5, 6, 0}}), torch::tensor({{1, 1, 0}})};
  llmc::data::attach_language_model_labels(b, {"input_ids", "attention_mask"});
  CHECK(b.labels[0][1].item<int64_t>() == 6);
  CHECK(b.labels[0][2].item<int64_t>() == llmc::data::kIgnoreIndex);
}
