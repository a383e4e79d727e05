// report.html of llmc compare, from a report made in code: self-contained (no script, nothing
// fetched), every chart present, names escaped, learning curves and the softmax panel when the
// details have them.
#include <doctest/doctest.h>

#include "llmc/compare/figures.h"
#include "llmc/report/report.h"

namespace {

llmc::report::Report compare_report() {
  using llmc::report::ComparedModel;
  llmc::report::Report r;
  r.command = "compare";
  r.inputs_source = "test.jsonl";
  r.input_rows = 32;
  r.latency_batch_rows = 16;
  for (int i = 0; i < 3; ++i) {
    ComparedModel m;
    m.name = i == 0 ? "teacher <big>" : "student " + std::to_string(i);
    m.reference = i == 0;
    m.side.file_bytes = (3 - i) << 20;
    m.side.parameter_count = (3 - i) * 1000000;
    m.side.latency = llmc::bench::summarize({10.0 / (i + 1), 11.0 / (i + 1)}, 16);
    m.side.memory = llmc::bench::MemoryStats{(300 - 50 * i) << 20, 10 << 20, true};
    llmc::metrics::MetricSet metric;
    metric.primary = "jaccard_samples";
    metric.values = {{"jaccard_samples", 0.6 - 0.05 * i}};
    m.side.metrics = metric;
    if (i > 0) m.agreement = llmc::metrics::Agreement{};
    r.models.push_back(m);
  }
  return r;
}

size_t count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t p = text.find(part); p != std::string::npos; p = text.find(part, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("to_html: a self-contained page with the table and the four bar charts") {
  const auto r = compare_report();
  const std::string html = llmc::report::to_html(r);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(count(html, "<script") == 0);
  CHECK(count(html, "<link") == 0);
  CHECK(count(html, "src=") == 0);
  CHECK(count(html, "url(") == 0);
  CHECK(count(html, "@import") == 0);
  for (const char* chart : {"size", "latency", "memory", "metric"}) {
    CAPTURE(chart);
    CHECK(count(html, std::string("<figure class=\"chart\" data-chart=\"") + chart + "\">") == 1);
  }
  // One bar per model in each of the four charts.
  CHECK(count(html, "<rect class=\"bar\"") == 12);
  CHECK(count(html, "<tr class=\"reference\"><td>teacher &lt;big&gt; (reference)</td>") == 1);
  CHECK(count(html, "teacher <big>") == 0);
  CHECK(count(html, "data-chart=\"learning-curves\"") == 0);
  CHECK(count(html, "data-chart=\"softmax\"") == 0);
  CHECK(count(html, "data-chart=\"cost\"") == 0);
  CHECK(count(html, "PASSED") == 1);
}

TEST_CASE("to_html: learning curves, the softmax panel and a failed gate") {
  auto r = compare_report();
  llmc::util::Json curves = llmc::util::Json::array();
  for (int epoch = 1; epoch <= 3; ++epoch) {
    for (const char* model : {"student 1", "student 2"}) {
      llmc::util::Json row = llmc::util::Json::object();
      row["model"] = model;
      row["epoch"] = epoch;
      row["train_loss"] = 1.0 / epoch;
      row["metric"] = "jaccard_samples";
      row["value"] = 0.1 * epoch;
      curves.push_back(row);
    }
  }
  r.details["learning_curves"] = curves;
  r.details["softmax"] = llmc::compare::softmax_panel({2.0, -1.0, 0.5}, 4, "teacher", "t.jsonl:1");
  llmc::report::GateResult g;
  g.name = "student 1: min_cosine";
  g.comparison = ">=";
  g.threshold = 0.99;
  g.actual = 0.5;
  g.passed = false;
  r.gates.push_back(g);
  const std::string html = llmc::report::to_html(r);
  CHECK(count(html, "data-chart=\"learning-curves\"") == 1);
  CHECK(count(html, "data-chart=\"softmax\"") == 1);
  // Two panels (loss, metric) with a line per model; the softmax panel with T = 1 and T = 4.
  CHECK(count(html, "<polyline") == 6);
  CHECK(count(html, "T = 4") == 1);
  CHECK(count(html, "<td class=\"fail\">FAIL</td>") == 1);
  CHECK(count(html, "FAILED (quality gate)") == 1);
}
