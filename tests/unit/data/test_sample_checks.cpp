// The values of a JSONL data file checked for what their column is (token ids, masks, labels),
// each error naming file:line and the field.
#include "llmc/data/inputs.h"

#include "torch_doctest.h"

#include <string>
#include <vector>

#include "llmc/metrics/agreement.h"
#include "llmc/metrics/metric_accumulator.h"
#include "llmc/util/error.h"
#include "test_support.h"

namespace {

using llmc::recipe::TaskKind;

struct Read {
  llmc::test::TempDir dir;
  llmc::recipe::DataSpec spec;

  explicit Read(const std::string& jsonl, const std::string& labels = "") {
    spec.path = dir.write("d.jsonl", jsonl);
    spec.labels = labels;
  }
  llmc::data::SampleTable table(const std::vector<std::string>& args,
                                TaskKind task = TaskKind::none) const {
    return llmc::data::read_samples(spec, args, task);
  }
  // The message of the InputError reading the file throws; "" when it reads.
  std::string error(const std::vector<std::string>& args, TaskKind task = TaskKind::none) const {
    try {
      table(args, task);
    } catch (const llmc::InputError& e) {
      return e.what();
    }
    return "";
  }
  std::string at(int line) const { return spec.path + ":" + std::to_string(line) + ": "; }
};

using llmc::test::has;

const std::vector<std::string> kIds{"input_ids", "attention_mask"};

}  // namespace

TEST_CASE("token ids: negative, beyond int64, floats and booleans name the line and field") {
  const Read negative("{\"input_ids\": [1, 2]}\n{\"input_ids\": [3, -4]}\n");
  std::string e = negative.error({"input_ids"});
  CHECK(has(e, negative.at(2) + "field \"input_ids\": token id -4 is negative"));

  const Read huge("{\"input_ids\": [1]}\n\n{\"input_ids\": [9223372036854775808]}\n");
  e = huge.error({"input_ids"});
  CHECK(has(e, huge.at(3) + "field \"input_ids\": token ids must be integers"));
  CHECK(has(e, "beyond the 64-bit integer range"));

  // One float among integers is an error, not a float column.
  const Read whole_float("{\"input_ids\": [1, 2]}\n{\"input_ids\": [5.0, 2]}\n");
  e = whole_float.error({"input_ids"});
  CHECK(has(e, whole_float.at(2) + "field \"input_ids\": token ids must be integers, got 5.0"));
  const Read half("{\"input_ids\": [5.5]}\n");
  CHECK(has(half.error({"input_ids"}), half.at(1) + "field \"input_ids\": token ids must be "
                                                    "integers, got 5.5 (a float)"));

  const Read boolean("{\"input_ids\": [1, 2]}\n{\"input_ids\": [true, 2]}\n");
  CHECK(has(boolean.error({"input_ids"}),
            boolean.at(2) + "field \"input_ids\": token ids must be integers, got the boolean "
                            "true"));
  // Every *_ids argument is token ids.
  const Read types("{\"input_ids\": [1, 2], \"token_type_ids\": [0, -1]}\n");
  CHECK(has(types.error({"input_ids", "token_type_ids"}),
            types.at(1) + "field \"token_type_ids\": token id -1 is negative"));
}

TEST_CASE("token ids beyond the model's embedding table name the first line that has one") {
  const Read r("{\"input_ids\": [1, 9]}\n{\"input_ids\": [3, 12, 4]}\n{\"input_ids\": [30]}\n");
  const auto table = r.table({"input_ids"});
  CHECK_NOTHROW(llmc::data::check_token_ids(table, 31, "m.pt"));
  try {
    llmc::data::check_token_ids(table, 10, "m.pt");
    FAIL("expected an InputError");
  } catch (const llmc::InputError& e) {
    CHECK(e.path() == r.spec.path + ":2");
    CHECK(has(e.what(), "field \"input_ids\": token id 12 is beyond m.pt's embedding table (10 "
                        "rows, ids 0-9): the data does not match the model's vocabulary"));
  }
}

TEST_CASE("attention masks: one 0/1 value per token id") {
  const Read shorter("{\"input_ids\": [1, 2], \"attention_mask\": [1, 1]}\n"
                     "{\"input_ids\": [1, 2, 3], \"attention_mask\": [1, 1]}\n");
  CHECK(has(shorter.error(kIds), shorter.at(2) + "field \"attention_mask\" has 2 values but "
                                                 "\"input_ids\" has 3"));
  const Read longer("{\"input_ids\": [1], \"attention_mask\": [1, 1]}\n");
  CHECK(has(longer.error(kIds), longer.at(1) + "field \"attention_mask\" has 2 values but "
                                               "\"input_ids\" has 1"));
  const Read two("{\"input_ids\": [1, 2], \"attention_mask\": [1, 2]}\n");
  CHECK(has(two.error(kIds), two.at(1) + "field \"attention_mask\": values must be 0 or 1, got 2"));
  const Read half("{\"input_ids\": [1, 2], \"attention_mask\": [1, 0.5]}\n");
  CHECK(has(half.error(kIds), half.at(1) + "field \"attention_mask\": values must be 0 or 1, got "
                                           "0.5"));
  // Booleans are a mask's natural values.
  const Read flags("{\"input_ids\": [1, 2], \"attention_mask\": [true, false]}\n");
  const auto table = flags.table(kIds);
  CHECK(table.columns[1][0].values == std::vector<double>{1, 0});
}

TEST_CASE("labels: multi-hot 0/1 lists and single-label class indices, checked per line") {
  const std::string ok = "{\"x\": [0.5], \"y\": [1, 0, 1]}\n";
  for (const std::string bad : {"2", "-1", "0.5"}) {
    const Read r(ok + "{\"x\": [0.5], \"y\": [1, " + bad + ", 0]}\n", "y");
    CHECK(has(r.error({"x"}, TaskKind::multi_label),
              r.at(2) + "label field \"y\": values must be 0 or 1, got " + bad));
  }
  const Read scalar("{\"x\": [0.5], \"y\": 1}\n", "y");
  CHECK(has(scalar.error({"x"}, TaskKind::multi_label),
            scalar.at(1) + "label field \"y\": multi-label labels are a list of 0/1 per sample"));

  const Read frac("{\"x\": [0.5], \"y\": 1}\n{\"x\": [0.5], \"y\": 1.5}\n", "y");
  CHECK(has(frac.error({"x"}, TaskKind::single_label),
            frac.at(2) + "label field \"y\": single-label labels must be integers, got 1.5"));
  const Read neg("{\"x\": [0.5], \"y\": -2}\n", "y");
  CHECK(has(neg.error({"x"}, TaskKind::single_label),
            neg.at(1) + "label field \"y\": class index -2 is negative"));
  const Read boolean("{\"x\": [0.5], \"y\": true}\n", "y");
  CHECK(has(boolean.error({"x"}, TaskKind::single_label),
            boolean.at(1) + "label field \"y\": single-label labels must be integers, got the "
                            "boolean true"));
  const Read list("{\"x\": [0.5], \"y\": [1]}\n", "y");
  CHECK(has(list.error({"x"}, TaskKind::single_label),
            list.at(1) + "label field \"y\": single-label labels are one class index per sample"));
}

TEST_CASE("labels that do not fit the head name their line") {
  const Read single("{\"x\": [0.5], \"y\": 1}\n{\"x\": [0.5], \"y\": 0}\n{\"x\": [0.5], \"y\": 3}\n",
                    "y");
  const auto table = single.table({"x"}, TaskKind::single_label);
  CHECK_NOTHROW(llmc::data::check_label_classes(table, TaskKind::single_label, 4, "m.pt"));
  try {
    llmc::data::check_label_classes(table, TaskKind::single_label, 3, "m.pt");
    FAIL("expected an InputError");
  } catch (const llmc::InputError& e) {
    CHECK(std::string(e.what()) == single.spec.path + ":3: label 3 does not fit m.pt's 3 classes (0-2)");
  }
  // At run time, the metric names the row of the batch.
  const auto batch = llmc::data::make_batch(table, {0, 1, 2});
  llmc::metrics::MetricAccumulator metric({TaskKind::single_label, 0.5});
  try {
    metric.add(c10::IValue(torch::zeros({3, 2})), batch);
    FAIL("expected an InputError");
  } catch (const llmc::InputError& e) {
    CHECK(has(e.what(), single.at(3) + "label 3 does not fit the model's 2 classes (0-1)"));
  }

  const Read multi("{\"x\": [0.5], \"y\": [1, 0]}\n{\"x\": [0.5], \"y\": [0, 1]}\n", "y");
  const auto hot = multi.table({"x"}, TaskKind::multi_label);
  try {
    llmc::data::check_label_classes(hot, TaskKind::multi_label, 3, "m.pt");
    FAIL("expected an InputError");
  } catch (const llmc::InputError& e) {
    CHECK(has(e.what(), multi.at(1) + "the multi-hot labels have 2 values but m.pt has 3 classes"));
  }
}

TEST_CASE("nested values: errors name the line that holds them") {
  const Read lengths("{\"x\": [[1, 2], [3, 4]]}\n{\"x\": [[1, 2], [3]]}\n");
  CHECK(has(lengths.error({"x"}), lengths.at(2) + "field \"x\": nested lists of different "
                                                  "lengths"));
  const Read depths("{\"x\": [1, 2]}\n{\"x\": [1, [2]]}\n");
  CHECK(has(depths.error({"x"}), depths.at(2) + "field \"x\": nested lists of different depths"));
  const Read deeper("{\"x\": [[1], 2]}\n");
  CHECK(has(deeper.error({"x"}), deeper.at(1) + "field \"x\": nested lists of different depths"));
  const Read rank("{\"x\": [1, 2]}\n{\"x\": [1]}\n\n{\"x\": [[1]]}\n");
  CHECK(has(rank.error({"x"}), rank.at(4) + "field \"x\" has 2 dimensions here but 1 on line 1"));

  // Empty lists are a shape with a zero, not an error (found by fuzz_jsonl's harness).
  const Read empty("{\"x\": [[]]}\n");
  CHECK(empty.table({"x"}).columns[0][0].shape == std::vector<int64_t>{1, 0});

  // 2-D fields of different shapes in one batch: the line of the one that differs.
  const Read shapes("{\"x\": [[1, 2]]}\n{\"x\": [[1, 2]]}\n{\"x\": [[1, 2], [3, 4]]}\n");
  const auto table = shapes.table({"x"});
  try {
    llmc::data::make_batch(table, {0, 1, 2});
    FAIL("expected an InputError");
  } catch (const llmc::InputError& e) {
    CHECK(has(e.what(), shapes.at(3) + "field \"x\" has shape [2, 2] here but [1, 2] on line 1"));
  }
}

TEST_CASE("a column's dtype is decided over the whole file, not per batch") {
  const Read r("{\"input_ids\": [1, 2], \"x\": [1, 2]}\n{\"input_ids\": [3], \"x\": [0.5, 2]}\n");
  auto spec = r.spec;
  spec.batch_size = 1;
  const auto set = llmc::data::load_jsonl(spec, {"input_ids", "x"});
  REQUIRE(set.batches.size() == 2);
  for (const auto& b : set.batches) {
    CHECK((b.args[0].toTensor().scalar_type() == torch::kLong));   // ids stay integers
    CHECK((b.args[1].toTensor().scalar_type() == torch::kFloat));  // x has a float on line 2
  }
  CHECK(set.batches[1].row_location(0) == r.spec.path + ":2");
}
