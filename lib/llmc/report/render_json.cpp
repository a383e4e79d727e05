// report.json: the machine-readable report. Its schema is documented in docs/report.md; bump
// kSchemaVersion on any incompatible change.
#include "llmc/report/report.h"

namespace llmc::report {

using util::Json;

namespace {

Json optional_number(const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); }

Json latency_json(const bench::LatencyStats& l) {
  Json j = Json::object();
  j["runs"] = l.runs;
  j["p50_ms"] = l.p50_ms;
  j["p95_ms"] = l.p95_ms;
  j["mean_ms"] = l.mean_ms;
  j["min_ms"] = l.min_ms;
  j["max_ms"] = l.max_ms;
  j["throughput_per_s"] = l.throughput;
  if (!l.thread_pool.empty()) j["thread_pool"] = l.thread_pool;
  return j;
}

Json side_json(const ModelSide& s) {
  Json j = Json::object();
  j["path"] = s.path;
  j["sha256"] = s.sha256;
  j["file_bytes"] = s.file_bytes;
  j["parameter_count"] = s.parameter_count;
  j["parameter_bytes"] = s.parameter_bytes;
  j["latency"] = s.latency ? latency_json(*s.latency) : Json(nullptr);
  if (s.memory) {
    Json m = Json::object();
    m["peak_rss_bytes"] = s.memory->peak_rss_bytes;
    m["delta_rss_bytes"] = s.memory->delta_rss_bytes;
    m["isolated"] = s.memory->isolated;
    j["memory"] = m;
  } else {
    j["memory"] = nullptr;
  }
  if (s.metrics) {
    Json m = Json::object();
    for (const auto& [name, value] : s.metrics->values) m[name] = value;
    j["metrics"] = m;
    j["primary_metric"] = s.metrics->primary;
    j["higher_is_better"] = s.metrics->higher_is_better;
  } else {
    j["metrics"] = nullptr;
  }
  return j;
}

Json agreement_json(const std::optional<metrics::Agreement>& agreement) {
  if (!agreement) return Json(nullptr);
  Json a = Json::object();
  a["elements"] = agreement->elements;
  a["max_abs_diff"] = agreement->max_abs_diff;
  a["mean_abs_diff"] = agreement->mean_abs_diff;
  a["cosine"] = agreement->cosine;
  a["label_agreement"] = optional_number(agreement->label_agreement);
  a["decision_agreement"] = optional_number(agreement->decision_agreement);
  a["identical"] = agreement->identical;
  return a;
}

// llmc compare's `models`: each model's side, with its name, runtime, agreement with the
// reference, the ratios against it and its serving cost.
Json models_json(const Report& r) {
  Json models = Json::array();
  for (const auto& m : r.models) {
    Json j = Json::object();
    j["name"] = m.name;
    j["runtime"] = m.runtime;
    j["reference"] = m.reference;
    const Json side = side_json(m.side);
    for (const auto& [key, value] : side.as_object()) j[key] = value;
    j["agreement"] = agreement_json(m.agreement);
    Json cmp = Json::object();
    cmp["speedup"] = optional_number(m.speedup);
    cmp["size_ratio"] = optional_number(m.size_ratio);
    cmp["metric_drop"] = optional_number(m.metric_drop);
    j["comparison"] = cmp;
    if (m.monthly_cost) {
      Json c = Json::object();
      c["busy_hours_per_month"] = optional_number(m.busy_hours);
      c["monthly_cost"] = *m.monthly_cost;
      j["cost"] = c;
    } else {
      j["cost"] = nullptr;
    }
    models.push_back(j);
  }
  return models;
}

}  // namespace

Json to_json(const Report& r) {
  Json j = Json::object();
  j["schema_version"] = kSchemaVersion;
  j["command"] = r.command;
  j["status"] = r.passed() ? "passed" : "failed";
  if (r.models.empty()) {
    j["original"] = side_json(r.original);
    j["result"] = side_json(r.result);
    Json cmp = Json::object();
    cmp["speedup"] = optional_number(r.speedup());
    cmp["size_ratio"] = optional_number(r.size_ratio());
    cmp["metric_drop"] = optional_number(r.metric_drop());
    j["comparison"] = cmp;
  } else {
    for (const auto& m : r.models) {
      if (m.reference) j["reference"] = m.name;
    }
    j["models"] = models_json(r);
  }
  Json inputs = Json::object();
  inputs["source"] = r.inputs_source;
  inputs["rows"] = r.input_rows;
  inputs["latency_batch_rows"] = r.latency_batch_rows;
  j["inputs"] = inputs;
  if (r.models.empty()) j["agreement"] = agreement_json(r.agreement);
  Json gates = Json::array();
  for (const auto& g : r.gates) {
    Json e = Json::object();
    e["name"] = g.name;
    e["comparison"] = g.comparison;
    e["threshold"] = g.threshold;
    e["actual"] = optional_number(g.actual);
    e["passed"] = g.passed;
    gates.push_back(e);
  }
  j["gates"] = gates;
  j["details"] = r.details;
  Json warnings = Json::array();
  for (const auto& w : r.warnings) warnings.push_back(w);
  j["warnings"] = warnings;
  const auto& p = r.provenance;
  Json prov = Json::object();
  prov["llmc_version"] = p.llmc_version;
  prov["libtorch_version"] = p.libtorch_version;
  prov["recipe"] = p.recipe_path;
  prov["recipe_sha256"] = p.recipe_sha256;
  if (r.models.empty()) {
    prov["model_sha256"] = r.original.sha256;
    prov["artifact_sha256"] = r.result.sha256;
  }
  prov["command_line"] = p.command_line;
  prov["threads"] = p.threads;
  prov["intra_op_threads"] = p.intra_op_threads;
  prov["huge_pages"] = p.huge_pages;
  Json m = Json::object();
  m["cpu"] = p.machine.cpu_model;
  m["cores"] = p.machine.cores;
  m["memory_bytes"] = p.machine.memory_bytes;
  m["os"] = p.machine.os;
  m["cpu_flags"] = p.machine.cpu_flags;
  prov["machine"] = m;
  prov["started_at"] = p.started_at;
  j["provenance"] = prov;
  return j;
}

}  // namespace llmc::report
