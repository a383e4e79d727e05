// Task metrics on hand-computed examples: accuracy and macro-F1 (single-label); samples-average
// Jaccard, micro-F1 and exact match (multi-label), with the sigmoid threshold.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "llmc/metrics/task_metrics.h"
#include "llmc/util/error.h"

using llmc::metrics::MetricSet;
using llmc::metrics::multi_label_metrics;
using llmc::metrics::multi_label_predicted;
using llmc::metrics::single_label_metrics;

namespace {

std::vector<std::string> names(const MetricSet& m) {
  std::vector<std::string> out;
  for (const auto& [n, v] : m.values) out.push_back(n);
  return out;
}

// 3 rows x 4 classes. Predicted (sigmoid(logit) >= 0.5, i.e. logit >= 0) vs true label sets:
//   row 0: logits [ 2, -1,  0, -3] -> {0, 2}; labels [1, 0, 1, 1] -> {0, 2, 3}
//          intersection 2, union 3: Jaccard 2/3; tp 2, fp 0, fn 1; not exact
//   row 1: logits [-2,  3, -1,  1] -> {1, 3}; labels [0, 1, 0, 1] -> {1, 3}
//          Jaccard 1; tp 2, fp 0, fn 0; exact
//   row 2: logits [ 1, -1, -2, -4] -> {0};    labels [0, 1, 0, 0] -> {1}
//          intersection 0, union 2: Jaccard 0; tp 0, fp 1, fn 1; not exact
// jaccard_samples = (2/3 + 1 + 0) / 3 = 5/9
// micro-F1 = 2 tp / (2 tp + fp + fn) = 2*4 / (8 + 1 + 2) = 8/11
// exact_match = 1/3
const std::vector<float> kLogits = {2, -1, 0, -3, -2, 3, -1, 1, 1, -1, -2, -4};
const std::vector<float> kLabels = {1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 0};

}  // namespace

TEST_CASE("single-label accuracy and macro-F1 on a hand-computed example") {
  // 6 rows x 4 classes; class 3 is never predicted nor a label, so macro-F1 leaves it out.
  //   row: logits          -> argmax, label
  //   0:   [2, 1, 0, -9]   -> 0, 0  correct
  //   1:   [0, 3, 1, -9]   -> 1, 1  correct
  //   2:   [0, 1, 5, -9]   -> 2, 1  wrong
  //   3:   [4, 0, 0, -9]   -> 0, 2  wrong
  //   4:   [0, 0, 1, -9]   -> 2, 2  correct
  //   5:   [1, 2, 0, -9]   -> 1, 1  correct
  // accuracy = 4/6.
  // class 0: tp 1, fp 1 (row 3), fn 0          F1 = 2/(2+1+0) = 2/3
  // class 1: tp 2, fp 0, fn 1 (row 2)          F1 = 4/(4+0+1) = 4/5
  // class 2: tp 1, fp 1 (row 2), fn 1 (row 3)  F1 = 2/(2+1+1) = 1/2
  // macro-F1 = (2/3 + 4/5 + 1/2) / 3 = 59/90.
  const std::vector<float> logits = {2, 1, 0, -9, 0, 3, 1, -9, 0, 1, 5, -9,
                                     4, 0, 0, -9, 0, 0, 1, -9, 1, 2, 0, -9};
  const std::vector<int64_t> labels = {0, 1, 1, 2, 2, 1};
  const MetricSet m = single_label_metrics(logits, 6, 4, labels);
  CHECK(m.primary == "accuracy");
  CHECK(names(m) == std::vector<std::string>{"accuracy", "macro_f1"});
  CHECK(m.primary_value() == doctest::Approx(4.0 / 6.0));
  CHECK(m.value("accuracy") == doctest::Approx(4.0 / 6.0));
  CHECK(m.value("macro_f1") == doctest::Approx(59.0 / 90.0));
}

TEST_CASE("single-label: all correct scores 1, a tie goes to the lower class") {
  // Row 0 ties classes 0 and 1 -> predicts 0.
  const std::vector<float> logits = {1, 1, 0, 0, 7, 1};
  const MetricSet m = single_label_metrics(logits, 2, 3, {0, 1});
  CHECK(m.value("accuracy") == 1.0);
  CHECK(m.value("macro_f1") == 1.0);
  const MetricSet wrong = single_label_metrics(logits, 2, 3, {1, 0});
  // class 0: tp 0, fp 1, fn 1 -> 0; class 1: tp 0, fp 1, fn 1 -> 0.
  CHECK(wrong.value("accuracy") == 0.0);
  CHECK(wrong.value("macro_f1") == 0.0);
}

TEST_CASE("single-label with no rows scores 0") {
  const MetricSet m = single_label_metrics({}, 0, 3, {});
  CHECK(m.value("accuracy") == 0.0);
  CHECK(m.value("macro_f1") == 0.0);
}

TEST_CASE("single-label rejects mismatched sizes") {
  CHECK_THROWS_AS(single_label_metrics({1, 2, 3}, 2, 2, {0, 1}), llmc::InternalError);
  CHECK_THROWS_AS(single_label_metrics({1, 2, 3, 4}, 2, 2, {0}), llmc::InternalError);
}

TEST_CASE("multi-label jaccard_samples, micro_f1 and exact_match on a hand-computed 3x4 example") {
  const MetricSet m = multi_label_metrics(kLogits, kLabels, 3, 4, 0.5);
  CHECK(m.primary == "jaccard_samples");
  CHECK(names(m) == std::vector<std::string>{"jaccard_samples", "micro_f1", "macro_f1", "exact_match"});
  CHECK(m.primary_value() == doctest::Approx(5.0 / 9.0));
  CHECK(m.value("jaccard_samples") == doctest::Approx(5.0 / 9.0));
  CHECK(m.value("micro_f1") == doctest::Approx(8.0 / 11.0));
  CHECK(m.value("exact_match") == doctest::Approx(1.0 / 3.0));
}

TEST_CASE("multi-label respects the threshold") {
  // At 0.6 (logit >= ln(1.5) ~ 0.405): logit 0 is no longer predicted, logit 1 still is.
  //   row 0: {0} vs {0, 2, 3}: Jaccard 1/3; tp 1, fn 2
  //   row 1: {1, 3} vs {1, 3}: Jaccard 1; tp 2; exact
  //   row 2: {0} vs {1}: Jaccard 0; fp 1, fn 1
  // jaccard = (1/3 + 1 + 0)/3 = 4/9; micro-F1 = 6/(6 + 1 + 3) = 3/5; exact 1/3.
  const MetricSet m = multi_label_metrics(kLogits, kLabels, 3, 4, 0.6);
  CHECK(m.value("jaccard_samples") == doctest::Approx(4.0 / 9.0));
  CHECK(m.value("micro_f1") == doctest::Approx(3.0 / 5.0));
  CHECK(m.value("exact_match") == doctest::Approx(1.0 / 3.0));
}

TEST_CASE("multi_label_predicted: sigmoid(logit) >= threshold, inclusive") {
  CHECK(multi_label_predicted(0.0f, 0.5));  // sigmoid(0) = 0.5
  CHECK_FALSE(multi_label_predicted(-0.001f, 0.5));
  CHECK(multi_label_predicted(0.001f, 0.5));
  CHECK_FALSE(multi_label_predicted(0.0f, 0.6));
  CHECK(multi_label_predicted(1.0f, 0.6));  // sigmoid(1) ~ 0.731
  CHECK_FALSE(multi_label_predicted(1.0f, 0.75));
  CHECK(multi_label_predicted(-1.0f, 0.25));  // sigmoid(-1) ~ 0.269
}

TEST_CASE("multi-label: a row with both sets empty scores 0 in Jaccard but is an exact match") {
  // Row 0: nothing predicted (all logits < 0), no labels -> Jaccard 0, exact.
  // Row 1: {0} vs {0} -> Jaccard 1, exact; tp 1.
  const std::vector<float> logits = {-1, -2, 3, -1};
  const std::vector<float> labels = {0, 0, 1, 0};
  const MetricSet m = multi_label_metrics(logits, labels, 2, 2, 0.5);
  CHECK(m.value("jaccard_samples") == doctest::Approx(0.5));
  CHECK(m.value("micro_f1") == doctest::Approx(1.0));
  CHECK(m.value("exact_match") == doctest::Approx(1.0));

  const MetricSet empty = multi_label_metrics({-1, -1, -1, -1}, {0, 0, 0, 0}, 2, 2, 0.5);
  CHECK(empty.value("jaccard_samples") == 0.0);
  CHECK(empty.value("micro_f1") == 0.0);
  CHECK(empty.value("exact_match") == 1.0);
}

TEST_CASE("multi-label rejects mismatched sizes") {
  CHECK_THROWS_AS(multi_label_metrics({0, 0}, {0, 0, 0}, 1, 2, 0.5), llmc::InternalError);
  CHECK_THROWS_AS(multi_label_metrics({0, 0, 0}, {0, 0, 0}, 1, 2, 0.5), llmc::InternalError);
}

TEST_CASE("MetricSet::value of an unknown metric is an internal error") {
  const MetricSet m = multi_label_metrics(kLogits, kLabels, 3, 4, 0.5);
  CHECK_THROWS_AS(m.value("accuracy"), llmc::InternalError);
}

TEST_CASE("multi-label macro-F1 averages per-class F1 (a class never seen nor predicted scores 0)") {
  // 2 rows x 3 classes; class 0: tp 1 fp 1 -> F1 2/3; class 1: tp 1 -> 1; class 2: nothing -> 0.
  const std::vector<float> logits = {1, 1, -1, 1, -1, -1};
  const std::vector<float> labels = {1, 1, 0, 0, 0, 0};
  const auto m = multi_label_metrics(logits, labels, 2, 3, 0.5);
  CHECK(m.value("macro_f1") == doctest::Approx((2.0 / 3 + 1 + 0) / 3));
}

TEST_CASE("perplexity is exp of the mean next-token NLL; lower is better") {
  const auto m = llmc::metrics::language_model_metrics(10 * std::log(4.0), 10);
  CHECK(m.primary == "perplexity");
  CHECK_FALSE(m.higher_is_better);
  CHECK(m.primary_value() == doctest::Approx(4.0));
  CHECK(m.value("cross_entropy") == doctest::Approx(std::log(4.0)));
}
