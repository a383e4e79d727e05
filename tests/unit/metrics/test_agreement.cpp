// compare_outputs' label figures: multi-label rows agree only when every decision does;
// decision_agreement counts the (row, label) decisions.
#include "torch_doctest.h"

#include "llmc/metrics/agreement.h"

using llmc::metrics::compare_outputs;

TEST_CASE("multi-label: row agreement and decision agreement") {
  llmc::recipe::TaskSpec task;
  task.type = llmc::recipe::TaskKind::multi_label;  // threshold 0.5: logit >= 0
  // 3 rows x 4 labels. Row 0 identical decisions, row 1 one flipped label, row 2 two flipped.
  const auto a = torch::tensor({{1.0f, -1.0f, 2.0f, -2.0f},
                                {0.5f, 0.5f, -0.5f, -0.5f},
                                {3.0f, 3.0f, -3.0f, -3.0f}});
  const auto b = torch::tensor({{0.9f, -1.2f, 2.1f, -2.0f},
                                {0.5f, -0.1f, -0.5f, -0.5f},
                                {-3.0f, 3.0f, 3.0f, -3.0f}});
  const auto r = compare_outputs({c10::IValue(a)}, {c10::IValue(b)}, task);
  REQUIRE(r.label_agreement.has_value());
  CHECK(*r.label_agreement == doctest::Approx(1.0 / 3));
  REQUIRE(r.decision_agreement.has_value());
  CHECK(*r.decision_agreement == doctest::Approx(9.0 / 12));

  SUBCASE("single-label classification has no decision agreement") {
    const auto s = compare_outputs({c10::IValue(a)}, {c10::IValue(b)}, llmc::recipe::TaskSpec{});
    REQUIRE(s.label_agreement.has_value());
    CHECK(*s.label_agreement == doctest::Approx(2.0 / 3));  // argmax: rows 0 and 1 agree
    CHECK(!s.decision_agreement.has_value());
  }
}
