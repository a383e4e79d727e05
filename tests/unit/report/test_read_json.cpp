// report::from_json reads back what report::to_json wrote (llmc run renders its cached
// comparison again from it): a round trip gives the same report.json, and other files are
// refused.
#include <doctest/doctest.h>

#include "llmc/report/report.h"
#include "llmc/util/error.h"

namespace {

llmc::report::ModelSide side(const std::string& path, double p50) {
  llmc::report::ModelSide s;
  s.path = path;
  s.sha256 = std::string(64, 'a');
  s.file_bytes = 1000;
  s.parameter_count = 250;
  s.parameter_bytes = 1000;
  llmc::bench::LatencyStats l;
  l.runs = 3;
  l.p50_ms = p50;
  l.p95_ms = p50 * 1.5;
  l.mean_ms = p50;
  l.min_ms = p50 / 2;
  l.max_ms = p50 * 2;
  l.throughput = 16 / p50 * 1000;
  s.latency = l;
  s.memory = llmc::bench::MemoryStats{1 << 20, 1 << 19, true};
  llmc::metrics::MetricSet m;
  m.primary = "jaccard_samples";
  m.values = {{"jaccard_samples", 0.5}, {"f1_micro", 0.25}};
  s.metrics = m;
  return s;
}

}  // namespace

TEST_CASE("report from_json: a compare report round-trips") {
  llmc::report::Report r;
  r.command = "run";
  r.inputs_source = "test.jsonl";
  r.input_rows = 128;
  r.latency_batch_rows = 16;
  llmc::report::ComparedModel a;
  a.name = "original";
  a.reference = true;
  a.side = side("a.pt", 2.0);
  llmc::report::ComparedModel b;
  b.name = "onnx";
  b.runtime = "onnxruntime 1.16.3";
  b.side = side("b.onnx", 1.0);
  b.side.memory.reset();
  llmc::metrics::Agreement ag;
  ag.elements = 10;
  ag.max_abs_diff = 0.5;
  ag.cosine = 0.99;
  ag.label_agreement = 0.875;
  ag.identical = false;
  b.agreement = ag;
  b.speedup = 2.0;
  b.size_ratio = 1.0;
  b.monthly_cost = 3.5;
  b.busy_hours = 1.25;
  r.models = {a, b};
  r.gates.push_back({"onnx: min_cosine", ">=", 0.9, 0.99, true});
  r.gates.push_back({"final: max_abs_diff", "<=", 0.1, std::nullopt, false});
  r.details["stages"] = llmc::util::Json::array({llmc::util::Json::object({{"name", "x"}})});
  r.warnings = {"a warning"};
  r.provenance.llmc_version = "0.1";
  r.provenance.machine.cores = 2;
  r.provenance.started_at = "2026-01-01T00:00:00Z";
  const auto j = llmc::report::to_json(r);
  const auto back = llmc::report::from_json(j, "report.json");
  CHECK(llmc::report::to_json(back).dump() == j.dump());
  CHECK_FALSE(back.passed());
  CHECK(back.models[1].side.metrics->primary_value() == 0.5);
}

TEST_CASE("report from_json: a single-model report round-trips; other JSON is refused") {
  llmc::report::Report r;
  r.command = "quantize";
  r.original = side("a.pt", 2.0);
  r.result = side("out/model.pt", 1.0);
  llmc::metrics::Agreement ag;
  ag.cosine = 0.5;
  r.agreement = ag;
  const auto j = llmc::report::to_json(r);
  CHECK(llmc::report::to_json(llmc::report::from_json(j, "r.json")).dump() == j.dump());
  CHECK_THROWS_AS(llmc::report::from_json(llmc::util::Json::object(), "r.json"), llmc::InputError);
  auto other = j;
  other["schema_version"] = 2;
  CHECK_THROWS_AS(llmc::report::from_json(other, "r.json"), llmc::InputError);
}
