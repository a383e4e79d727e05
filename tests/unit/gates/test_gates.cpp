// Quality gates: inclusive boundaries, unset gates, unmeasurable gates, failed-gate texts and the
// derived figures (speed-up, size ratio, metric drop) the gates check.
#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "llmc/gates/gates.h"
#include "llmc/recipe/common.h"
#include "llmc/report/report.h"

using llmc::gates::evaluate;
using llmc::recipe::GateSpec;
using llmc::report::GateResult;
using llmc::report::Report;

namespace {

llmc::bench::LatencyStats latency(double p50) {
  llmc::bench::LatencyStats l;
  l.runs = 10;
  l.p50_ms = p50;
  l.p95_ms = p50 * 1.5;
  l.mean_ms = p50;
  l.min_ms = p50 / 2;
  l.max_ms = p50 * 2;
  return l;
}

llmc::metrics::MetricSet metric(double accuracy) {
  llmc::metrics::MetricSet m;
  m.primary = "accuracy";
  m.values = {{"accuracy", accuracy}, {"macro_f1", 0.5}};
  return m;
}

// A report with every measurement present:
//   agreement max_abs_diff 0.001, mean_abs_diff 0.0001, cosine 0.995, label agreement 0.98;
//   latency 10 ms -> 4 ms (speed-up 2.5); file 1000 -> 250 bytes (ratio 0.25);
//   accuracy 0.9 -> 0.875 (drop 0.025).
Report full_report() {
  Report r;
  r.command = "eval-freeze";
  llmc::metrics::Agreement a;
  a.elements = 100;
  a.max_abs_diff = 0.001;
  a.mean_abs_diff = 0.0001;
  a.cosine = 0.995;
  a.label_agreement = 0.98;
  a.identical = false;
  r.agreement = a;
  r.original.latency = latency(10.0);
  r.result.latency = latency(4.0);
  r.original.file_bytes = 1000;
  r.result.file_bytes = 250;
  r.original.metrics = metric(0.9);
  r.result.metrics = metric(0.875);
  return r;
}

// The single result of evaluating `spec` (which must set exactly one gate).
GateResult only(const GateSpec& spec, const Report& r) {
  const auto results = evaluate(spec, r);
  REQUIRE(results.size() == 1);
  return results.front();
}

}  // namespace

TEST_CASE("no gates set: no results, and the report passes") {
  Report r = full_report();
  CHECK(evaluate(GateSpec{}, r).empty());
  r.gates = evaluate(GateSpec{}, r);
  CHECK(r.passed());
  CHECK(r.failed_gates().empty());
}

TEST_CASE("every gate set gives one result per gate, in a fixed order") {
  GateSpec spec;
  spec.max_metric_drop = 1;
  spec.max_size_ratio = 1;
  spec.min_speedup = 1;
  spec.min_label_agreement = 0.5;
  spec.min_cosine = 0.5;
  spec.max_mean_abs_diff = 1;
  spec.max_abs_diff = 1;
  const auto results = evaluate(spec, full_report());
  std::vector<std::string> names;
  std::vector<std::string> comparisons;
  for (const auto& g : results) {
    names.push_back(g.name);
    comparisons.push_back(g.comparison);
    CHECK(g.passed);
    CHECK(g.actual.has_value());
  }
  CHECK(names == std::vector<std::string>{"max_abs_diff", "max_mean_abs_diff", "min_cosine",
                                          "min_label_agreement", "min_speedup", "max_size_ratio",
                                          "max_metric_drop"});
  CHECK(comparisons == std::vector<std::string>{"<=", "<=", ">=", ">=", ">=", "<=", "<="});
}

TEST_CASE("only the gates that are set produce results") {
  GateSpec spec;
  spec.min_cosine = 0.9;
  spec.max_size_ratio = 0.5;
  const auto results = evaluate(spec, full_report());
  REQUIRE(results.size() == 2);
  CHECK(results[0].name == "min_cosine");
  CHECK(results[1].name == "max_size_ratio");
}

TEST_CASE("max_abs_diff: <= is inclusive") {
  Report r = full_report();  // max_abs_diff 0.001
  GateSpec spec;
  spec.max_abs_diff = 0.001;
  GateResult g = only(spec, r);
  CHECK(g.name == "max_abs_diff");
  CHECK(g.comparison == "<=");
  CHECK(g.threshold == 0.001);
  REQUIRE(g.actual.has_value());
  CHECK(*g.actual == 0.001);
  CHECK(g.passed);
  spec.max_abs_diff = 0.0009;
  CHECK_FALSE(only(spec, r).passed);
  spec.max_abs_diff = 0.0011;
  CHECK(only(spec, r).passed);
}

TEST_CASE("max_mean_abs_diff checks the mean absolute difference, <= inclusive") {
  Report r = full_report();  // mean_abs_diff 0.0001, max_abs_diff 0.001
  GateSpec spec;
  spec.max_mean_abs_diff = 0.0001;
  GateResult g = only(spec, r);
  CHECK(g.name == "max_mean_abs_diff");
  REQUIRE(g.actual.has_value());
  CHECK(*g.actual == 0.0001);
  CHECK(g.passed);
  spec.max_mean_abs_diff = 0.00005;
  CHECK_FALSE(only(spec, r).passed);
  spec.max_mean_abs_diff = 0.0005;  // above the mean but below the max: the mean is what counts
  CHECK(only(spec, r).passed);
}

TEST_CASE("min_cosine: >= is inclusive") {
  Report r = full_report();  // cosine 0.995
  GateSpec spec;
  spec.min_cosine = 0.995;
  GateResult g = only(spec, r);
  CHECK(g.comparison == ">=");
  REQUIRE(g.actual.has_value());
  CHECK(*g.actual == 0.995);
  CHECK(g.passed);
  spec.min_cosine = 0.996;
  CHECK_FALSE(only(spec, r).passed);
  spec.min_cosine = 0.99;
  CHECK(only(spec, r).passed);
}

TEST_CASE("min_label_agreement: >= is inclusive") {
  Report r = full_report();  // label agreement 0.98
  GateSpec spec;
  spec.min_label_agreement = 0.98;
  GateResult g = only(spec, r);
  CHECK(g.name == "min_label_agreement");
  REQUIRE(g.actual.has_value());
  CHECK(*g.actual == 0.98);
  CHECK(g.passed);
  spec.min_label_agreement = 0.99;
  CHECK_FALSE(only(spec, r).passed);
}

TEST_CASE("min_speedup: original p50 / result p50, >= inclusive") {
  Report r = full_report();  // 10 ms -> 4 ms
  REQUIRE(r.speedup().has_value());
  CHECK(*r.speedup() == 2.5);
  GateSpec spec;
  spec.min_speedup = 2.5;
  GateResult g = only(spec, r);
  CHECK(g.name == "min_speedup");
  CHECK(g.comparison == ">=");
  REQUIRE(g.actual.has_value());
  CHECK(*g.actual == 2.5);
  CHECK(g.passed);
  spec.min_speedup = 2.6;
  CHECK_FALSE(only(spec, r).passed);
}

TEST_CASE("max_size_ratio: result bytes / original bytes, <= inclusive") {
  Report r = full_report();  // 1000 -> 250 bytes
  REQUIRE(r.size_ratio().has_value());
  CHECK(*r.size_ratio() == 0.25);
  GateSpec spec;
  spec.max_size_ratio = 0.25;
  GateResult g = only(spec, r);
  CHECK(g.name == "max_size_ratio");
  CHECK(g.comparison == "<=");
  REQUIRE(g.actual.has_value());
  CHECK(*g.actual == 0.25);
  CHECK(g.passed);
  spec.max_size_ratio = 0.24;
  CHECK_FALSE(only(spec, r).passed);
}

TEST_CASE("max_metric_drop: original primary - result primary, <= inclusive") {
  Report r = full_report();
  r.original.metrics = metric(0.75);
  r.result.metrics = metric(0.5);  // exact in binary: drop 0.25
  REQUIRE(r.metric_drop().has_value());
  CHECK(*r.metric_drop() == 0.25);
  GateSpec spec;
  spec.max_metric_drop = 0.25;
  GateResult g = only(spec, r);
  CHECK(g.name == "max_metric_drop");
  CHECK(g.comparison == "<=");
  REQUIRE(g.actual.has_value());
  CHECK(*g.actual == 0.25);
  CHECK(g.passed);
  spec.max_metric_drop = 0.2;
  CHECK_FALSE(only(spec, r).passed);
  // An improvement is a negative drop and passes any non-negative threshold.
  r.result.metrics = metric(0.875);
  CHECK(*r.metric_drop() == -0.125);
  spec.max_metric_drop = 0;
  CHECK(only(spec, r).passed);
}

TEST_CASE("the primary metric is the one compared, not the first listed name elsewhere") {
  Report r = full_report();
  llmc::metrics::MetricSet orig;
  orig.primary = "jaccard_samples";
  orig.values = {{"jaccard_samples", 0.5}, {"micro_f1", 0.9}};
  llmc::metrics::MetricSet res = orig;
  res.values = {{"jaccard_samples", 0.25}, {"micro_f1", 0.9}};
  r.original.metrics = orig;
  r.result.metrics = res;
  REQUIRE(r.metric_drop().has_value());
  CHECK(*r.metric_drop() == 0.25);
}

TEST_CASE("agreement gates fail with actual unset when there is no agreement") {
  Report r = full_report();
  r.agreement.reset();
  GateSpec spec;
  spec.max_abs_diff = 1e9;
  spec.max_mean_abs_diff = 1e9;
  spec.min_cosine = -1;
  spec.min_label_agreement = 0;
  const auto results = evaluate(spec, r);
  REQUIRE(results.size() == 4);
  for (const auto& g : results) {
    CAPTURE(g.name);
    CHECK_FALSE(g.actual.has_value());
    CHECK_FALSE(g.passed);
  }
}

TEST_CASE("min_label_agreement fails when the agreement has no label agreement") {
  Report r = full_report();
  r.agreement->label_agreement.reset();
  GateSpec spec;
  spec.min_label_agreement = 0;
  spec.min_cosine = 0.9;
  const auto results = evaluate(spec, r);
  REQUIRE(results.size() == 2);
  CHECK(results[0].name == "min_cosine");
  CHECK(results[0].passed);
  CHECK(results[1].name == "min_label_agreement");
  CHECK_FALSE(results[1].actual.has_value());
  CHECK_FALSE(results[1].passed);
}

TEST_CASE("min_speedup fails unmeasured without latency on either side or with a zero p50") {
  GateSpec spec;
  spec.min_speedup = 0;
  {
    Report r = full_report();
    r.original.latency.reset();
    CHECK_FALSE(r.speedup().has_value());
    GateResult g = only(spec, r);
    CHECK_FALSE(g.actual.has_value());
    CHECK_FALSE(g.passed);
  }
  {
    Report r = full_report();
    r.result.latency.reset();
    CHECK_FALSE(r.speedup().has_value());
    CHECK_FALSE(only(spec, r).passed);
  }
  {
    Report r = full_report();
    r.result.latency->p50_ms = 0;
    CHECK_FALSE(r.speedup().has_value());
    CHECK_FALSE(only(spec, r).passed);
  }
}

TEST_CASE("max_size_ratio fails unmeasured when a file size is unknown (0)") {
  GateSpec spec;
  spec.max_size_ratio = 100;
  {
    Report r = full_report();
    r.original.file_bytes = 0;
    CHECK_FALSE(r.size_ratio().has_value());
    GateResult g = only(spec, r);
    CHECK_FALSE(g.actual.has_value());
    CHECK_FALSE(g.passed);
  }
  {
    Report r = full_report();
    r.result.file_bytes = 0;
    CHECK_FALSE(r.size_ratio().has_value());
    CHECK_FALSE(only(spec, r).passed);
  }
}

TEST_CASE("max_metric_drop fails unmeasured without metrics on either side") {
  GateSpec spec;
  spec.max_metric_drop = 1;
  {
    Report r = full_report();
    r.original.metrics.reset();
    CHECK_FALSE(r.metric_drop().has_value());
    GateResult g = only(spec, r);
    CHECK_FALSE(g.actual.has_value());
    CHECK_FALSE(g.passed);
  }
  {
    Report r = full_report();
    r.result.metrics.reset();
    CHECK_FALSE(r.metric_drop().has_value());
    CHECK_FALSE(only(spec, r).passed);
  }
}

TEST_CASE("failed_gates() names each failed gate with actual, direction and threshold") {
  Report r = full_report();
  r.agreement->cosine = 0.9;
  r.result.file_bytes = 0;  // size ratio not measurable
  GateSpec spec;
  spec.max_abs_diff = 0.0005;   // 0.001 > 0.0005: fails
  spec.min_cosine = 0.99;       // 0.9 < 0.99: fails
  spec.min_speedup = 2;         // 2.5: passes
  spec.max_size_ratio = 0.5;    // not measurable: fails
  r.gates = evaluate(spec, r);
  REQUIRE(r.gates.size() == 4);
  CHECK_FALSE(r.passed());
  CHECK(r.failed_gates() == std::vector<std::string>{"max_abs_diff: 0.001 > 0.0005",
                                                     "min_cosine: 0.9 < 0.99",
                                                     "max_size_ratio: not measurable"});
}

TEST_CASE("a report passes only when every gate passed") {
  Report r = full_report();
  GateSpec spec;
  spec.min_cosine = 0.99;
  spec.max_size_ratio = 0.25;
  r.gates = evaluate(spec, r);
  CHECK(r.passed());
  CHECK(r.failed_gates().empty());
  r.gates.back().passed = false;
  CHECK_FALSE(r.passed());
  CHECK(r.failed_gates() == std::vector<std::string>{"max_size_ratio: 0.25 > 0.25"});
}

TEST_CASE("check(): a subcommand's own gate, inclusive bounds, unmeasured fails") {
  using llmc::gates::Bound;
  using llmc::gates::check;
  const GateResult at_most = check("export_onnx.verify.tolerance", Bound::at_most, 1e-4, 1e-4);
  CHECK(at_most.name == "export_onnx.verify.tolerance");
  CHECK(at_most.comparison == "<=");
  CHECK(at_most.threshold == 1e-4);
  CHECK(at_most.passed);
  CHECK_FALSE(check("x", Bound::at_most, 1e-4, 2e-4).passed);
  const GateResult at_least = check("deterministic", Bound::at_least, 1, 1.0);
  CHECK(at_least.comparison == ">=");
  CHECK(at_least.passed);
  CHECK_FALSE(check("deterministic", Bound::at_least, 1, 0.0).passed);
  const GateResult unmeasured = check("x", Bound::at_least, 1, std::nullopt);
  CHECK_FALSE(unmeasured.passed);
  CHECK_FALSE(unmeasured.actual.has_value());
}
