// MetricAccumulator: batch by batch, the same figures as the formulas over all rows at once;
// next-token loss of a causal LM.
#include "torch_doctest.h"

#include <cmath>

#include "llmc/metrics/metric_accumulator.h"

using llmc::recipe::TaskKind;

TEST_CASE("MetricAccumulator: two batches give the metrics of all rows at once") {
  const std::vector<float> logits = {2, 0, 1, 0, 3, 1, 0, 0, 5, 1, 2, 0};  // 4 rows, 3 classes
  const std::vector<int64_t> labels = {0, 1, 1, 0};
  llmc::metrics::MetricAccumulator acc({TaskKind::single_label, 0.5});
  const auto t = torch::tensor(logits).reshape({4, 3});
  const auto y = torch::tensor(labels);
  acc.add(c10::IValue(t.slice(0, 0, 3)), y.slice(0, 0, 3));
  acc.add(c10::IValue(t.slice(0, 3, 4)), y.slice(0, 3, 4));
  const auto batched = acc.result();
  const auto whole = llmc::metrics::single_label_metrics(logits, 4, 3, labels);
  CHECK(batched.primary == "accuracy");
  CHECK(batched.value("accuracy") == doctest::Approx(whole.value("accuracy")));
  CHECK(batched.value("accuracy") == doctest::Approx(0.5));  // rows 0 and 1 right, 2 and 3 wrong
  CHECK(batched.value("macro_f1") == doctest::Approx(whole.value("macro_f1")));
}

TEST_CASE("next_token_nll: position t predicts token t + 1, ignored labels skipped") {
  // Uniform logits over 4 tokens: every predicted token costs log 4.
  const auto logits = torch::zeros({1, 3, 4});
  const auto labels = torch::tensor({{1, 2, -100}}, torch::kLong);
  const auto [nll, tokens] = llmc::metrics::next_token_nll(logits, labels);
  CHECK(tokens == 1);  // position 0 predicts label 2; position 1 predicts an ignored label
  CHECK(nll == doctest::Approx(std::log(4.0)));
}
