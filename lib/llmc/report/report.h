// The one report: what every subcommand measured, original vs result, on the same inputs.
// Rendered by report/render_json.cpp (report.json, schema in docs/report.md), and
// report/render_markdown.cpp (report.md and the stdout summary).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmc/bench/measure.h"
#include "llmc/compare/agreement_stats.h"
#include "llmc/metrics/task_metrics.h"
#include "llmc/util/json.h"
#include "llmc/util/machine.h"

namespace llmc::report {

constexpr int kSchemaVersion = 1;

struct ModelSide {
  std::string path;
  std::string sha256;
  int64_t file_bytes = 0;
  int64_t parameter_count = 0;
  int64_t parameter_bytes = 0;
  std::optional<bench::LatencyStats> latency;
  std::optional<bench::MemoryStats> memory;
  std::optional<metrics::MetricSet> metrics;
};

struct GateResult {
  std::string name;        // recipe key, e.g. "min_cosine"
  std::string comparison;  // ">=" or "<="
  double threshold = 0;
  std::optional<double> actual;  // unset when it could not be measured (counts as failed)
  bool passed = false;
};

struct Provenance {
  std::string llmc_version;
  std::string libtorch_version;
  std::string recipe_path;
  std::string recipe_sha256;
  std::string command_line;
  std::string threads;  // ThreadSettings::describe()
  int intra_op_threads = 1;
  std::string huge_pages;  // util::huge_pages_status()
  util::MachineInfo machine;
  std::string started_at;  // UTC, ISO 8601
};

struct Report {
  std::string command;  // "eval-freeze"
  ModelSide original;
  ModelSide result;
  std::string inputs_source;  // "example_inputs" or the data path
  int64_t input_rows = 0;
  int64_t latency_batch_rows = 0;
  std::optional<compare::Agreement> agreement;
  std::vector<GateResult> gates;
  util::Json details = util::Json::object();  // the subcommand's own figures
  std::vector<std::string> warnings;
  Provenance provenance;

  bool passed() const;
  std::vector<std::string> failed_gates() const;  // "min_cosine: 0.91 < 0.99"
  std::optional<double> speedup() const;         // original p50 / result p50
  std::optional<double> size_ratio() const;      // result file / original file
  std::optional<double> metric_drop() const;     // original primary - result primary
};

util::Json to_json(const Report& report);
std::string to_markdown(const Report& report);
// A few lines for stdout: the verdict, size, latency, agreement and metric.
std::string to_summary(const Report& report);

std::string human_bytes(int64_t bytes);
std::string utc_now_iso8601();

}  // namespace llmc::report
