// The one report: what every subcommand measured, original vs result, on the same inputs.
// Rendered by report/render_json.cpp (report.json, schema in docs/report.md),
// report/render_markdown.cpp (report.md and the stdout summary) and report/render_html.cpp
// (report.html of `llmc compare`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmc/bench/measure.h"
#include "llmc/metrics/agreement_stats.h"
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

// One model of `llmc compare`, measured on the same inputs as the others.
struct ComparedModel {
  std::string name;
  std::string runtime = "libtorch";  // or "onnxruntime 1.16.3" for an ONNX file
  bool reference = false;            // the model the others are compared with
  ModelSide side;
  std::optional<metrics::Agreement> agreement;  // with the reference; unset for the reference
  std::optional<double> speedup;      // reference p50 / this p50
  std::optional<double> size_ratio;   // this file / the reference's
  std::optional<double> metric_drop;  // as Report::metric_drop, reference vs this
  std::optional<double> busy_hours;    // compare.cost: hours of compute per month
  std::optional<double> monthly_cost;  // compare.cost: busy_hours x hardware_per_hour
};

struct Report {
  std::string command;  // "eval-freeze"
  ModelSide original;
  ModelSide result;
  std::string inputs_source;  // "example_inputs" or the data path
  int64_t input_rows = 0;
  int64_t latency_batch_rows = 0;
  std::optional<metrics::Agreement> agreement;
  std::vector<GateResult> gates;
  util::Json details = util::Json::object();  // the subcommand's own figures
  std::vector<std::string> warnings;
  Provenance provenance;
  // `llmc compare` only: the models side by side (original and result are then unused); the
  // renderers show this table instead of original vs result.
  std::vector<ComparedModel> models;

  bool passed() const;
  std::vector<std::string> failed_gates() const;  // "min_cosine: 0.91 < 0.99"
  std::optional<double> speedup() const;         // original p50 / result p50
  std::optional<double> size_ratio() const;      // result file / original file
  std::optional<double> metric_drop() const;     // original primary - result primary
};

util::Json to_json(const Report& report);
// The Report a to_json() wrote, read back (report/read_json.cpp); `path` names the file in
// errors (InputError when it is not a report.json of this schema version).
Report from_json(const util::Json& json, const std::string& path);
std::string to_markdown(const Report& report);
// A few lines for stdout: the verdict, size, latency, agreement and metric.
std::string to_summary(const Report& report);

// report.html: one self-contained page (inline CSS and SVG, no script, nothing fetched) with the
// models table, bar charts, learning curves, the softmax panel, gates and provenance.
std::string to_html(const Report& report);

// A Markdown table cell: `|` escaped (GFM reads `\|` as a literal pipe, also in code spans),
// line breaks folded.
std::string markdown_cell(const std::string& text);

std::string human_bytes(int64_t bytes);
std::string utc_now_iso8601();

}  // namespace llmc::report
