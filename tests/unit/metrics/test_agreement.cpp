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

TEST_CASE("agreement over outputs larger than one comparison slice equals the whole-tensor figures") {
  // 3 x 2^20 + 5 elements: several slices and a short last one, in a non-contiguous output.
  const auto a = torch::randn({3 * (1 << 20) + 5, 2}).t();
  const auto b = a + 1e-3 * torch::randn_like(a);
  const auto r = compare_outputs({c10::IValue(a)}, {c10::IValue(b)}, llmc::recipe::TaskSpec{});
  const auto da = a.to(at::kDouble), db = b.to(at::kDouble);
  const auto diff = (da - db).abs();
  CHECK(r.elements == a.numel());
  CHECK(r.max_abs_diff == diff.max().item<double>());
  CHECK(r.mean_abs_diff == doctest::Approx(diff.mean().item<double>()).epsilon(1e-9));
  const double cosine = ((da * db).sum() / (da.norm() * db.norm())).item<double>();
  CHECK(r.cosine == doctest::Approx(cosine).epsilon(1e-9));
  CHECK(!r.identical);
}
