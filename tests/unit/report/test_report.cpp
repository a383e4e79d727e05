// The report renderers: report.json (schema version 1), report.md and the stdout summary.
#include <doctest/doctest.h>

#include <string>

#include "llmc/report/report.h"
#include "llmc/util/json.h"

using llmc::report::GateResult;
using llmc::report::human_bytes;
using llmc::report::Report;
using llmc::report::to_json;
using llmc::report::to_markdown;
using llmc::report::to_summary;
using llmc::util::Json;
using llmc::util::parse_json;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

llmc::bench::LatencyStats latency(double p50, double throughput) {
  llmc::bench::LatencyStats l;
  l.runs = 20;
  l.p50_ms = p50;
  l.p95_ms = p50 * 2;
  l.mean_ms = p50 + 0.5;
  l.min_ms = p50 - 0.5;
  l.max_ms = p50 * 3;
  l.throughput = throughput;
  return l;
}

GateResult gate(const std::string& name, const std::string& cmp, double threshold, double actual,
                bool passed) {
  GateResult g;
  g.name = name;
  g.comparison = cmp;
  g.threshold = threshold;
  g.actual = actual;
  g.passed = passed;
  return g;
}

// Original 1000 bytes, 10 ms -> result 250 bytes, 4 ms; accuracy 0.9 -> 0.875; one passing gate.
Report filled_report() {
  Report r;
  r.command = "eval-freeze";
  r.original.path = "orig.pt";
  r.original.sha256 = "aaaa";
  r.original.file_bytes = 1000;
  r.original.parameter_count = 42;
  r.original.parameter_bytes = 168;
  r.original.latency = latency(10.0, 1600.0);
  r.result.path = "out/model.pt";
  r.result.sha256 = "bbbb";
  r.result.file_bytes = 250;
  r.result.parameter_count = 42;
  r.result.parameter_bytes = 168;
  r.result.latency = latency(4.0, 4000.0);
  llmc::metrics::MetricSet m;
  m.primary = "accuracy";
  m.values = {{"accuracy", 0.9}, {"macro_f1", 0.8}};
  r.original.metrics = m;
  m.values = {{"accuracy", 0.875}, {"macro_f1", 0.75}};
  r.result.metrics = m;
  llmc::bench::MemoryStats mem;
  mem.peak_rss_bytes = 3 * 1024 * 1024;
  mem.delta_rss_bytes = 1024 * 1024;
  mem.isolated = true;
  r.original.memory = mem;
  r.inputs_source = "example_inputs";
  r.input_rows = 16;
  r.latency_batch_rows = 16;
  llmc::metrics::Agreement a;
  a.elements = 64;
  a.max_abs_diff = 0.001;
  a.mean_abs_diff = 0.0001;
  a.cosine = 0.995;
  a.label_agreement = 0.98;
  a.identical = false;
  r.agreement = a;
  r.gates = {gate("min_cosine", ">=", 0.99, 0.995, true)};
  r.details = Json::object({{"passes", Json::array({Json::object({{"pass", "freeze"},
                                                                  {"effect", "12 nodes"}}),
                                                    Json::object({{"pass", "fold"},
                                                                  {"effect", 3}})})},
                            {"forward_nodes_before", 30},
                            {"artifact_deterministic", true}});
  r.warnings = {"something to know"};
  auto& p = r.provenance;
  p.llmc_version = "0.1.0";
  p.libtorch_version = "2.3.0";
  p.recipe_path = "recipes/r.yaml";
  p.recipe_sha256 = "cccc";
  p.command_line = "llmc eval-freeze recipes/r.yaml";
  p.threads = "1 LibTorch intra-op thread(s)";
  p.intra_op_threads = 1;
  p.machine.cpu_model = "Test CPU";
  p.machine.cores = 8;
  p.machine.memory_bytes = 16LL * 1024 * 1024 * 1024;
  p.machine.os = "Linux 6.1";
  p.machine.cpu_flags = "avx2";
  p.started_at = "2024-01-02T03:04:05Z";
  return r;
}

}  // namespace

TEST_CASE("to_json of a passing report: schema, status, sides, comparison, inputs") {
  const Report r = filled_report();
  const Json j = to_json(r);
  CHECK(j.at("schema_version") == Json(1));
  CHECK(j.at("schema_version").is_int());
  CHECK(j.at("command").as_string() == "eval-freeze");
  CHECK(j.at("status").as_string() == "passed");

  const Json& o = j.at("original");
  CHECK(o.at("path").as_string() == "orig.pt");
  CHECK(o.at("sha256").as_string() == "aaaa");
  CHECK(o.at("file_bytes") == Json(1000));
  CHECK(o.at("parameter_count") == Json(42));
  CHECK(o.at("parameter_bytes") == Json(168));
  CHECK(o.at("latency").at("runs") == Json(20));
  CHECK(o.at("latency").at("p50_ms").as_double() == 10.0);
  CHECK(o.at("latency").at("p95_ms").as_double() == 20.0);
  CHECK(o.at("latency").at("throughput_per_s").as_double() == 1600.0);
  CHECK(o.at("memory").at("peak_rss_bytes") == Json(3 * 1024 * 1024));
  CHECK(o.at("memory").at("isolated") == Json(true));
  CHECK(o.at("metrics").at("accuracy").as_double() == 0.9);
  CHECK(o.at("metrics").at("macro_f1").as_double() == 0.8);
  CHECK(o.at("primary_metric").as_string() == "accuracy");
  CHECK(j.at("result").at("memory").is_null());  // no memory measured for the result

  const Json& c = j.at("comparison");
  CHECK(c.at("speedup").as_double() == 2.5);
  CHECK(c.at("size_ratio").as_double() == 0.25);
  CHECK(c.at("metric_drop").as_double() == doctest::Approx(0.025));

  CHECK(j.at("inputs") == Json::object({{"source", "example_inputs"},
                                        {"rows", 16},
                                        {"latency_batch_rows", 16}}));

  const Json& a = j.at("agreement");
  CHECK(a.at("elements") == Json(64));
  CHECK(a.at("max_abs_diff").as_double() == 0.001);
  CHECK(a.at("cosine").as_double() == 0.995);
  CHECK(a.at("label_agreement").as_double() == 0.98);
  CHECK(a.at("identical") == Json(false));

  REQUIRE(j.at("gates").size() == 1);
  CHECK(j.at("gates").at(0) == Json::object({{"name", "min_cosine"},
                                             {"comparison", ">="},
                                             {"threshold", 0.99},
                                             {"actual", 0.995},
                                             {"passed", true}}));
  CHECK(j.at("warnings") == Json::array({"something to know"}));
}

TEST_CASE("to_json keeps details as given") {
  const Report r = filled_report();
  const Json j = to_json(r);
  CHECK(j.at("details") == r.details);
  CHECK(j.at("details").at("passes").at(1).at("effect") == Json(3));
}

TEST_CASE("to_json provenance carries versions, recipe, hashes, threads and machine") {
  const Json p = to_json(filled_report()).at("provenance");
  CHECK(p.at("llmc_version").as_string() == "0.1.0");
  CHECK(p.at("libtorch_version").as_string() == "2.3.0");
  CHECK(p.at("recipe").as_string() == "recipes/r.yaml");
  CHECK(p.at("recipe_sha256").as_string() == "cccc");
  CHECK(p.at("model_sha256").as_string() == "aaaa");
  CHECK(p.at("artifact_sha256").as_string() == "bbbb");
  CHECK(p.at("command_line").as_string() == "llmc eval-freeze recipes/r.yaml");
  CHECK(p.at("threads").as_string() == "1 LibTorch intra-op thread(s)");
  CHECK(p.at("intra_op_threads") == Json(1));
  CHECK(p.at("machine") == Json::object({{"cpu", "Test CPU"},
                                         {"cores", 8},
                                         {"memory_bytes", 16LL * 1024 * 1024 * 1024},
                                         {"os", "Linux 6.1"},
                                         {"cpu_flags", "avx2"}}));
  CHECK(p.at("started_at").as_string() == "2024-01-02T03:04:05Z");
}

TEST_CASE("to_json status is failed when any gate failed") {
  Report r = filled_report();
  r.gates.push_back(gate("max_size_ratio", "<=", 0.1, 0.25, false));
  const Json j = to_json(r);
  CHECK(j.at("status").as_string() == "failed");
  CHECK(j.at("gates").at(1).at("passed") == Json(false));
}

TEST_CASE("to_json writes null for what was not measured") {
  Report r = filled_report();
  r.agreement->label_agreement.reset();
  r.result.latency.reset();
  r.result.metrics.reset();
  r.result.file_bytes = 0;
  GateResult unmeasured;
  unmeasured.name = "min_speedup";
  unmeasured.comparison = ">=";
  unmeasured.threshold = 1.5;
  r.gates.push_back(unmeasured);
  const Json j = to_json(r);
  CHECK(j.at("agreement").at("label_agreement").is_null());
  CHECK(j.at("agreement").at("cosine").as_double() == 0.995);
  CHECK(j.at("result").at("latency").is_null());
  CHECK(j.at("result").at("metrics").is_null());
  CHECK(j.at("comparison") == Json::object({{"speedup", nullptr},
                                            {"size_ratio", nullptr},
                                            {"metric_drop", nullptr}}));
  CHECK(j.at("gates").at(1).at("actual").is_null());
  CHECK(j.at("status").as_string() == "failed");

  r.agreement.reset();
  CHECK(to_json(r).at("agreement").is_null());
}

TEST_CASE("report.json round-trips through parse_json") {
  Report r = filled_report();
  r.gates.push_back(gate("max_size_ratio", "<=", 0.1, 0.25, false));
  r.agreement->label_agreement.reset();
  const Json j = to_json(r);
  CHECK(parse_json(j.dump()) == j);
  CHECK(parse_json(j.dump(2)) == j);
  // Integral doubles stay numbers (p50 10.0 is written "10.0", not "10").
  CHECK(parse_json(j.dump()).at("original").at("latency").at("p50_ms").is_double());
}

TEST_CASE("to_markdown: verdict line, tables, gates, details, warnings and provenance") {
  const Report r = filled_report();
  const std::string md = to_markdown(r);
  CHECK(md.rfind("# llmc eval-freeze report: PASSED\n\n", 0) == 0);
  CHECK(contains(md, "| file size | 1000 B | 250 B | 0.250× |\n"));
  CHECK(contains(md, "| latency p50 | 10.00 ms | 4.00 ms | 2.500× speedup |\n"));
  CHECK(contains(md, "| throughput | 1600.0/s | 4000.0/s | |\n"));
  CHECK(contains(md, "| accuracy | 0.9000 | 0.8750 | |\n"));
  CHECK(contains(md, "| macro_f1 | 0.8000 | 0.7500 | |\n"));
  CHECK_FALSE(contains(md, "peak RSS"));  // only with memory on both sides
  CHECK(contains(md, "- label agreement: 0.9800\n"));
  CHECK(contains(md, "- bitwise identical: no\n"));
  CHECK(contains(md, "| min_cosine | >= 0.99 | 0.995 | pass |\n"));
  CHECK_FALSE(contains(md, "**FAIL**"));
  CHECK(contains(md, "## Warnings\n\n- something to know\n"));
  CHECK(contains(md, "- recipe: recipes/r.yaml (sha256 cccc)\n"));
  CHECK(contains(md, "- model sha256: aaaa\n- artifact sha256: bbbb\n"));
  CHECK(contains(md, "- machine: Test CPU, 8 cores, 16.00 GiB (avx2), Linux 6.1\n"));
  CHECK(contains(md, "- started: 2024-01-02T03:04:05Z\n"));
}

TEST_CASE("to_markdown: a failed gate gives the FAILED verdict and a bold FAIL row") {
  Report r = filled_report();
  r.gates = {gate("min_cosine", ">=", 0.99, 0.9, false)};
  GateResult unmeasured;
  unmeasured.name = "max_metric_drop";
  unmeasured.comparison = "<=";
  unmeasured.threshold = 0.01;
  r.gates.push_back(unmeasured);
  const std::string md = to_markdown(r);
  CHECK(md.rfind("# llmc eval-freeze report: FAILED (quality gate)\n\n", 0) == 0);
  CHECK(contains(md, "| min_cosine | >= 0.99 | 0.9 | **FAIL** |\n"));
  CHECK(contains(md, "| max_metric_drop | <= 0.01 | not measured | **FAIL** |\n"));
}

TEST_CASE("to_markdown renders a details array of objects as a table, scalars as lines") {
  Report r = filled_report();
  r.details = Json::object(
      {{"passes", Json::array({Json::object({{"pass", "freeze"}, {"effect", "12 nodes"}}),
                               Json::object({{"pass", "fold"}, {"effect", 3}}),
                               Json::object({{"pass", "dce"}})})},
       {"forward_nodes_before", 30},
       {"artifact_deterministic", true},
       {"mode", "eval"}});
  const std::string md = to_markdown(r);
  CHECK(contains(md,
                 "\n## Details\n\n"
                 "- forward_nodes_before: 30\n"
                 "- artifact_deterministic: true\n"
                 "- mode: eval\n"
                 "\n**passes**\n\n"
                 "| pass | effect |\n"
                 "| --- | --- |\n"
                 "| freeze | 12 nodes |\n"
                 "| fold | 3 |\n"
                 "| dce | – |\n"));
}

TEST_CASE("to_markdown leaves out empty sections") {
  Report r = filled_report();
  r.details = Json::object();
  r.warnings.clear();
  r.gates.clear();
  r.agreement.reset();
  const std::string md = to_markdown(r);
  CHECK(md.rfind("# llmc eval-freeze report: PASSED\n", 0) == 0);
  CHECK_FALSE(contains(md, "## Details"));
  CHECK_FALSE(contains(md, "## Warnings"));
  CHECK_FALSE(contains(md, "## Gates"));
  CHECK_FALSE(contains(md, "## Output agreement"));
  CHECK(contains(md, "## Provenance"));
}

TEST_CASE("to_summary: every line of a passing report, ending in the status") {
  const std::string s = to_summary(filled_report());
  CHECK(s ==
        "eval-freeze: orig.pt -> out/model.pt\n"
        "  size      1000 B -> 250 B (0.250×)\n"
        "  latency   p50 10.00 ms -> 4.00 ms (2.500× speedup)\n"
        "  agreement max abs diff 0.001, cosine 0.995000, labels 98.00%\n"
        "  accuracy  0.9000 -> 0.8750\n"
        "  gate      min_cosine >= 0.99: pass (0.995)\n"
        "  status    passed\n");
  CHECK(ends_with(s, "  status    passed\n"));
}

TEST_CASE("to_summary of a failed report ends with FAILED") {
  Report r = filled_report();
  r.gates = {gate("min_cosine", ">=", 0.99, 0.9, false)};
  GateResult unmeasured;
  unmeasured.name = "min_speedup";
  unmeasured.comparison = ">=";
  unmeasured.threshold = 3;
  r.gates.push_back(unmeasured);
  const std::string s = to_summary(r);
  CHECK(contains(s, "  gate      min_cosine >= 0.99: FAIL (0.9)\n"));
  CHECK(contains(s, "  gate      min_speedup >= 3: FAIL (not measured)\n"));
  CHECK(ends_with(s, "  status    FAILED\n"));
}

TEST_CASE("human_bytes: bytes below 1 KiB exactly, then two decimals in binary units") {
  CHECK(human_bytes(0) == "0 B");
  CHECK(human_bytes(1023) == "1023 B");
  CHECK(human_bytes(1024) == "1.00 KiB");
  CHECK(human_bytes(1536) == "1.50 KiB");
  CHECK(human_bytes(5 * 1024 * 1024) == "5.00 MiB");
  CHECK(human_bytes(3LL * 1024 * 1024 * 1024) == "3.00 GiB");
}
