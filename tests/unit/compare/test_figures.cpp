// The figures' data of llmc compare: softmax with temperature, the panel's top classes, the
// learning curves read from a distill report, and the serving-cost formula.
#include <doctest/doctest.h>

#include <cmath>

#include "llmc/compare/cost.h"
#include "llmc/compare/figures.h"
#include "llmc/util/error.h"
#include "test_support.h"

using llmc::compare::softmax;

TEST_CASE("softmax: sums to 1, a higher temperature flattens, the order is kept") {
  const std::vector<double> z = {3.0, 1.0, 0.0};
  const auto p1 = softmax(z, 1);
  const auto p4 = softmax(z, 4);
  CHECK(p1[0] + p1[1] + p1[2] == doctest::Approx(1));
  CHECK(p4[0] + p4[1] + p4[2] == doctest::Approx(1));
  CHECK(p1[0] == doctest::Approx(std::exp(3.0) / (std::exp(3.0) + std::exp(1.0) + 1)));
  CHECK(p4[0] < p1[0]);
  CHECK(p4[2] > p1[2]);
  CHECK(p4[0] > p4[1]);
  // Large logits do not overflow.
  const auto big = softmax({1000.0, 999.0}, 1);
  CHECK(big[0] == doctest::Approx(1 / (1 + std::exp(-1.0))));
  CHECK(softmax({}, 2).empty());
}

TEST_CASE("softmax_panel: the largest logits first, at most `count`") {
  const auto panel = llmc::compare::softmax_panel({0.1, 5.0, -2.0, 3.0}, 2, "teacher", "t:1", 3);
  REQUIRE(panel.at("classes").size() == 3);
  CHECK(panel.at("classes").as_array()[0].as_int() == 1);
  CHECK(panel.at("classes").as_array()[1].as_int() == 3);
  CHECK(panel.at("classes").as_array()[2].as_int() == 0);
  CHECK(panel.at("p_t1").as_array()[0].as_double() >
        panel.at("p_t").as_array()[0].as_double());
  CHECK(panel.at("temperature").as_double() == 2);
}

TEST_CASE("distill_history_rows: one row per evaluation; anything else is an input error") {
  llmc::test::TempDir dir;
  const auto good = dir.write(
      "r.json",
      R"({"command": "distill", "details": {"best_metric": "accuracy", "history": [
           {"epoch": 1, "step": 5, "train_loss": 0.9, "accuracy": 0.5},
           {"epoch": 2, "step": 10, "train_loss": 0.6, "accuracy": 0.7}]}})");
  const auto rows = llmc::compare::distill_history_rows("student", good);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1].at("model").as_string() == "student");
  CHECK(rows[1].at("epoch").as_int() == 2);
  CHECK(rows[1].at("train_loss").as_double() == 0.6);
  CHECK(rows[1].at("metric").as_string() == "accuracy");
  CHECK(rows[1].at("value").as_double() == 0.7);
  const auto quantize = dir.write("q.json", R"({"command": "quantize", "details": {}})");
  CHECK_THROWS_AS(llmc::compare::distill_history_rows("s", quantize), llmc::InputError);
  const auto broken = dir.write("b.json", "{\"command\": ");
  CHECK_THROWS_AS(llmc::compare::distill_history_rows("s", broken), llmc::InputError);
}

TEST_CASE("serving cost: busy hours from throughput, the hosted API from tokens") {
  llmc::compare::CostSpec spec;
  spec.hardware_per_hour = 0.5;
  spec.requests_per_month = 7200000;
  spec.rows_per_request = 2;
  // 14.4 M rows at 400 rows/s: 36 000 s = 10 h, at 0.5 per hour.
  const auto e = llmc::compare::serving_cost(spec, 400);
  REQUIRE(e);
  CHECK(e->rows_per_month == 14400000);
  CHECK(e->busy_hours == doctest::Approx(10));
  CHECK(e->monthly_cost == doctest::Approx(5));
  CHECK_FALSE(llmc::compare::serving_cost(spec, 0));
  CHECK_FALSE(llmc::compare::api_monthly_cost(spec));
  spec.tokens_per_request = 200;
  spec.api_price_per_1k_tokens = 0.002;
  spec.api_calls_per_request = 3;
  // 7.2 M requests x 3 calls x 200 tokens = 4.32 G tokens, at 0.002 per 1 000.
  CHECK(*llmc::compare::api_monthly_cost(spec) == doctest::Approx(8640));
}
