// A report.json read back into the Report it was written from (render_json.cpp's inverse), so
// that a report kept on disk can be rendered again: `llmc run` reuses its cached comparison this
// way. Keys missing from the file keep their defaults; a file of another schema version or
// without the keys every report has throws InputError.
#include "llmc/report/report.h"
#include "llmc/util/error.h"

namespace llmc::report {

using util::Json;

namespace {

std::optional<double> optional_number(const Json* j) {
  if (j == nullptr || j->is_null()) return std::nullopt;
  return j->as_double();
}

std::string text(const Json& j, const char* key) {
  const Json* v = j.find(key);
  return v != nullptr && v->is_string() ? v->as_string() : "";
}

int64_t integer(const Json& j, const char* key) {
  const Json* v = j.find(key);
  if (v == nullptr) return 0;
  if (v->is_int()) return v->as_int();
  return v->is_number() ? static_cast<int64_t>(v->as_double()) : 0;
}

ModelSide side_from_json(const Json& j) {
  ModelSide s;
  s.path = text(j, "path");
  s.sha256 = text(j, "sha256");
  s.file_bytes = integer(j, "file_bytes");
  s.parameter_count = integer(j, "parameter_count");
  s.parameter_bytes = integer(j, "parameter_bytes");
  if (const Json* l = j.find("latency"); l != nullptr && l->is_object()) {
    bench::LatencyStats stats;
    stats.runs = integer(*l, "runs");
    stats.p50_ms = l->at("p50_ms").as_double();
    stats.p95_ms = l->at("p95_ms").as_double();
    stats.mean_ms = l->at("mean_ms").as_double();
    stats.min_ms = l->at("min_ms").as_double();
    stats.max_ms = l->at("max_ms").as_double();
    stats.throughput = l->at("throughput_per_s").as_double();
    if (const Json* pool = l->find("thread_pool"); pool != nullptr && pool->is_string()) {
      stats.thread_pool = pool->as_string();
    }
    s.latency = stats;
  }
  if (const Json* m = j.find("memory"); m != nullptr && m->is_object()) {
    bench::MemoryStats stats;
    stats.peak_rss_bytes = integer(*m, "peak_rss_bytes");
    stats.delta_rss_bytes = integer(*m, "delta_rss_bytes");
    stats.isolated = m->at("isolated").as_bool();
    s.memory = stats;
  }
  if (const Json* m = j.find("metrics"); m != nullptr && m->is_object()) {
    metrics::MetricSet set;
    set.primary = text(j, "primary_metric");
    if (const Json* h = j.find("higher_is_better"); h != nullptr && h->is_bool()) {
      set.higher_is_better = h->as_bool();
    }
    for (const auto& [name, value] : m->as_object()) set.values.emplace_back(name, value.as_double());
    if (!set.values.empty()) s.metrics = set;
  }
  return s;
}

std::optional<metrics::Agreement> agreement_from_json(const Json* j) {
  if (j == nullptr || !j->is_object()) return std::nullopt;
  metrics::Agreement a;
  a.elements = integer(*j, "elements");
  a.max_abs_diff = j->at("max_abs_diff").as_double();
  a.mean_abs_diff = j->at("mean_abs_diff").as_double();
  a.cosine = j->at("cosine").as_double();
  a.label_agreement = optional_number(j->find("label_agreement"));
  a.decision_agreement = optional_number(j->find("decision_agreement"));
  a.identical = j->at("identical").as_bool();
  return a;
}

}  // namespace

Report from_json(const Json& j, const std::string& path) {
  const Json* version = j.is_object() ? j.find("schema_version") : nullptr;
  if (version == nullptr || !version->is_int() || version->as_int() != kSchemaVersion ||
      j.find("command") == nullptr) {
    throw InputError(path, "not a report.json of this llmc (schema_version " +
                               std::to_string(kSchemaVersion) + ")");
  }
  try {
    Report r;
    r.command = text(j, "command");
    if (const Json* models = j.find("models"); models != nullptr && models->is_array()) {
      for (const auto& m : models->as_array()) {
        ComparedModel c;
        c.name = text(m, "name");
        c.runtime = text(m, "runtime");
        c.reference = m.at("reference").as_bool();
        c.side = side_from_json(m);
        c.agreement = agreement_from_json(m.find("agreement"));
        if (const Json* cmp = m.find("comparison"); cmp != nullptr && cmp->is_object()) {
          c.speedup = optional_number(cmp->find("speedup"));
          c.size_ratio = optional_number(cmp->find("size_ratio"));
          c.metric_drop = optional_number(cmp->find("metric_drop"));
        }
        if (const Json* cost = m.find("cost"); cost != nullptr && cost->is_object()) {
          c.busy_hours = optional_number(cost->find("busy_hours_per_month"));
          c.monthly_cost = optional_number(cost->find("monthly_cost"));
        }
        r.models.push_back(std::move(c));
      }
    } else {
      if (const Json* o = j.find("original")) r.original = side_from_json(*o);
      if (const Json* o = j.find("result")) r.result = side_from_json(*o);
      r.agreement = agreement_from_json(j.find("agreement"));
    }
    if (const Json* in = j.find("inputs"); in != nullptr && in->is_object()) {
      r.inputs_source = text(*in, "source");
      r.input_rows = integer(*in, "rows");
      r.latency_batch_rows = integer(*in, "latency_batch_rows");
    }
    if (const Json* gates = j.find("gates"); gates != nullptr && gates->is_array()) {
      for (const auto& e : gates->as_array()) {
        GateResult g;
        g.name = text(e, "name");
        g.comparison = text(e, "comparison");
        g.threshold = e.at("threshold").as_double();
        g.actual = optional_number(e.find("actual"));
        g.passed = e.at("passed").as_bool();
        r.gates.push_back(std::move(g));
      }
    }
    if (const Json* d = j.find("details"); d != nullptr && d->is_object()) r.details = *d;
    if (const Json* w = j.find("warnings"); w != nullptr && w->is_array()) {
      for (const auto& text_value : w->as_array()) r.warnings.push_back(text_value.as_string());
    }
    if (const Json* p = j.find("provenance"); p != nullptr && p->is_object()) {
      auto& prov = r.provenance;
      prov.llmc_version = text(*p, "llmc_version");
      prov.libtorch_version = text(*p, "libtorch_version");
      prov.recipe_path = text(*p, "recipe");
      prov.recipe_sha256 = text(*p, "recipe_sha256");
      prov.command_line = text(*p, "command_line");
      prov.threads = text(*p, "threads");
      prov.intra_op_threads = static_cast<int>(integer(*p, "intra_op_threads"));
      prov.huge_pages = text(*p, "huge_pages");
      prov.started_at = text(*p, "started_at");
      if (const Json* m = p->find("machine"); m != nullptr && m->is_object()) {
        prov.machine.cpu_model = text(*m, "cpu");
        prov.machine.cores = static_cast<int>(integer(*m, "cores"));
        prov.machine.memory_bytes = integer(*m, "memory_bytes");
        prov.machine.os = text(*m, "os");
        prov.machine.cpu_flags = text(*m, "cpu_flags");
      }
    }
    return r;
  } catch (const std::exception& e) {
    throw InputError(path, std::string("a report.json that cannot be read back: ") + e.what());
  }
}

}  // namespace llmc::report
