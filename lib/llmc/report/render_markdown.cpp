// report.md (a table a person reads in a CI log or a pull-request comment) and the short
// summary printed on stdout.
#include <algorithm>

#include <fmt/format.h>

#include "llmc/report/report.h"

namespace llmc::report {

namespace {

std::string ms(const std::optional<bench::LatencyStats>& l, double bench::LatencyStats::*f) {
  return l ? fmt::format("{:.2f} ms", (*l).*f) : "–";
}

std::string ratio(const std::optional<double>& v, const char* suffix = "×") {
  return v ? fmt::format("{:.3f}{}", *v, suffix) : "–";
}

std::string metric_cell(const ModelSide& s, const std::string& name) {
  if (!s.metrics) return "–";
  for (const auto& [n, v] : s.metrics->values) {
    if (n == name) return fmt::format("{:.4f}", v);
  }
  return "–";
}

// Details rendered generically: scalars as "key: value" lines, arrays of objects as tables.
void render_details(const util::Json& details, std::string& out) {
  if (!details.is_object() || details.size() == 0) return;
  out += "\n## Details\n\n";
  std::string tables;
  for (const auto& [key, value] : details.as_object()) {
    if (value.is_array() && value.size() > 0 && value.as_array().front().is_object()) {
      const auto& rows = value.as_array();
      tables += fmt::format("\n**{}**\n\n|", key);
      std::vector<std::string> cols;
      for (const auto& [c, v] : rows.front().as_object()) cols.push_back(c);
      for (const auto& c : cols) tables += " " + c + " |";
      tables += "\n|";
      for (size_t i = 0; i < cols.size(); ++i) tables += " --- |";
      tables += "\n";
      for (const auto& row : rows) {
        tables += "|";
        for (const auto& c : cols) {
          const util::Json* cell = row.find(c);
          tables += " " + (cell == nullptr ? std::string("–")
                           : cell->is_string() ? cell->as_string()
                                               : cell->dump()) + " |";
        }
        tables += "\n";
      }
    } else {
      out += fmt::format("- {}: {}\n", key, value.is_string() ? value.as_string() : value.dump());
    }
  }
  out += tables;
}

// The end of every stdout summary: each gate and the status.
void summary_verdict(const Report& r, std::string& out) {
  for (const auto& g : r.gates) {
    out += fmt::format("  gate      {} {} {:.6g}: {}{}\n", g.name, g.comparison, g.threshold,
                       g.passed ? "pass" : "FAIL",
                       g.actual ? fmt::format(" ({:.6g})", *g.actual) : " (not measured)");
  }
  out += fmt::format("  status    {}\n", r.passed() ? "passed" : "FAILED");
}

// Gates, details, warnings and provenance: the end of every report.md.
void render_tail(const Report& r, std::string& out) {
  if (!r.gates.empty()) {
    out += "\n## Gates\n\n| gate | threshold | actual | |\n| --- | ---: | ---: | --- |\n";
    for (const auto& g : r.gates) {
      out += fmt::format("| {} | {} {:.6g} | {} | {} |\n", g.name, g.comparison, g.threshold,
                         g.actual ? fmt::format("{:.6g}", *g.actual) : "not measured",
                         g.passed ? "pass" : "**FAIL**");
    }
  }
  render_details(r.details, out);
  if (!r.warnings.empty()) {
    out += "\n## Warnings\n\n";
    for (const auto& w : r.warnings) out += "- " + w + "\n";
  }
  const auto& p = r.provenance;
  out += "\n## Provenance\n\n";
  out += fmt::format("- llmc {}, LibTorch {}\n", p.llmc_version, p.libtorch_version);
  out += fmt::format("- recipe: {} (sha256 {})\n", p.recipe_path, p.recipe_sha256);
  if (r.models.empty()) {
    out += fmt::format("- model sha256: {}\n- artifact sha256: {}\n", r.original.sha256,
                       r.result.sha256);
  }
  for (const auto& m : r.models) out += fmt::format("- {} sha256: {}\n", markdown_cell(m.name), m.side.sha256);
  out += fmt::format("- threads: {}\n", p.threads);
  if (!p.huge_pages.empty()) out += fmt::format("- tensor memory: huge pages {}\n", p.huge_pages);
  out += fmt::format("- machine: {}, {} cores, {} ({}), {}\n", p.machine.cpu_model, p.machine.cores,
                     human_bytes(p.machine.memory_bytes), p.machine.cpu_flags, p.machine.os);
  out += fmt::format("- started: {}\n", p.started_at);
}

std::string optional_cell(const std::optional<double>& v, const char* format) {
  return v ? fmt::format(fmt::runtime(format), *v) : "–";
}

// llmc compare: one row per model.
std::string compare_markdown(const Report& r) {
  std::string out;
  out += fmt::format("# llmc {} report: {}\n\n", r.command,
                     r.passed() ? "PASSED" : "FAILED (quality gate)");
  std::string reference, primary;
  for (const auto& m : r.models) {
    if (m.reference) reference = m.name;
    if (primary.empty() && m.side.metrics) primary = m.side.metrics->primary;
  }
  out += fmt::format("{} models on the same inputs: {} ({} rows; latency batch {} rows); "
                     "reference `{}`.\n\n",
                     r.models.size(), r.inputs_source, r.input_rows, r.latency_batch_rows,
                     reference);
  const bool cost = std::any_of(r.models.begin(), r.models.end(),
                                [](const ComparedModel& m) { return m.monthly_cost.has_value(); });
  out += fmt::format("| model | runtime | {} | label agreement | parameters | file | p50 | p95 | "
                     "throughput | peak RSS |{}\n",
                     primary.empty() ? "task metric" : primary, cost ? " cost / month |" : "");
  out += fmt::format("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |{}\n",
                     cost ? " ---: |" : "");
  for (const auto& m : r.models) {
    const auto& s = m.side;
    out += fmt::format(
        "| {}{} | {} | {} | {} | {} | {} | {} | {} | {} | {} |{}\n", markdown_cell(m.name),
        m.reference ? " (reference)" : "", markdown_cell(m.runtime),
        s.metrics && !primary.empty() ? metric_cell(s, primary) : "–",
        m.reference ? "–" : optional_cell(m.agreement ? m.agreement->label_agreement : std::nullopt, "{:.4f}"),
        s.parameter_count > 0 ? fmt::format("{:.2f} M", static_cast<double>(s.parameter_count) / 1e6) : "–",
        human_bytes(s.file_bytes), ms(s.latency, &bench::LatencyStats::p50_ms),
        ms(s.latency, &bench::LatencyStats::p95_ms),
        s.latency ? fmt::format("{:.1f}/s", s.latency->throughput) : "–",
        s.memory ? human_bytes(s.memory->peak_rss_bytes) : "–",
        cost ? " " + optional_cell(m.monthly_cost, "{:.2f}") + " |" : "");
  }
  if (const util::Json* c = r.details.find("cost")) {
    const util::Json* api = c->find("api_monthly_cost");
    out += fmt::format("\nCost per month in {}: busy hours on the machine measured at {:g} per "
                       "hour ({}){}.\n",
                       c->at("currency").as_string(), c->at("hardware_per_hour").as_double(),
                       c->at("formula").as_string(),
                       api != nullptr ? fmt::format("; the hosted API: {:.2f}", api->as_double())
                                      : "");
  }
  out += "\n## Against the reference\n\n"
         "| model | speedup | size ratio | metric drop | max abs diff | cosine |\n"
         "| --- | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& m : r.models) {
    if (m.reference) continue;
    out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", markdown_cell(m.name), ratio(m.speedup),
                       ratio(m.size_ratio), optional_cell(m.metric_drop, "{:.4f}"),
                       m.agreement ? fmt::format("{:.3g}", m.agreement->max_abs_diff) : "–",
                       m.agreement ? fmt::format("{:.6f}", m.agreement->cosine) : "–");
  }
  render_tail(r, out);
  return out;
}

std::string compare_summary(const Report& r) {
  std::string out =
      fmt::format("{}: {} models, {} rows\n", r.command, r.models.size(), r.input_rows);
  size_t width = 5;
  for (const auto& m : r.models) width = std::max(width, m.name.size() + (m.reference ? 2 : 0));
  out += fmt::format("  {:<{}}  {:>10}  {:>9}  {:>10}  {:>10}  {:>11}  {:>10}\n", "model", width,
                     "metric", "agreement", "file", "p50", "throughput", "peak RSS");
  for (const auto& m : r.models) {
    const auto& s = m.side;
    out += fmt::format(
        "  {:<{}}  {:>10}  {:>9}  {:>10}  {:>10}  {:>11}  {:>10}\n",
        m.name + (m.reference ? " *" : ""), width,
        s.metrics ? fmt::format("{:.4f}", s.metrics->primary_value()) : "–",
        m.reference ? "ref" : optional_cell(m.agreement ? m.agreement->label_agreement : std::nullopt, "{:.4f}"),
        human_bytes(s.file_bytes), s.latency ? fmt::format("{:.2f} ms", s.latency->p50_ms) : "–",
        s.latency ? fmt::format("{:.1f}/s", s.latency->throughput) : "–",
        s.memory ? human_bytes(s.memory->peak_rss_bytes) : "–");
  }
  summary_verdict(r, out);
  return out;
}

}  // namespace

std::string markdown_cell(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    if (ch == '|') {
      out += "\\|";
    } else if (ch == '\n') {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out;
}

std::string to_markdown(const Report& r) {
  if (!r.models.empty()) return compare_markdown(r);
  std::string out;
  out += fmt::format("# llmc {} report: {}\n\n", r.command,
                     r.passed() ? "PASSED" : "FAILED (quality gate)");
  out += fmt::format("Original `{}` → result `{}`; inputs: {} ({} rows; latency batch {} rows).\n\n",
                     r.original.path, r.result.path, r.inputs_source, r.input_rows,
                     r.latency_batch_rows);
  out += "| | original | result | change |\n| --- | ---: | ---: | ---: |\n";
  out += fmt::format("| file size | {} | {} | {} |\n", human_bytes(r.original.file_bytes),
                     human_bytes(r.result.file_bytes), ratio(r.size_ratio()));
  out += fmt::format("| parameters | {} | {} | |\n", r.original.parameter_count,
                     r.result.parameter_count);
  out += fmt::format("| parameter bytes | {} | {} | |\n", human_bytes(r.original.parameter_bytes),
                     human_bytes(r.result.parameter_bytes));
  out += fmt::format("| latency p50 | {} | {} | {} speedup |\n",
                     ms(r.original.latency, &bench::LatencyStats::p50_ms),
                     ms(r.result.latency, &bench::LatencyStats::p50_ms), ratio(r.speedup()));
  out += fmt::format("| latency p95 | {} | {} | |\n",
                     ms(r.original.latency, &bench::LatencyStats::p95_ms),
                     ms(r.result.latency, &bench::LatencyStats::p95_ms));
  if (r.original.latency && r.result.latency) {
    out += fmt::format("| throughput | {:.1f}/s | {:.1f}/s | |\n", r.original.latency->throughput,
                       r.result.latency->throughput);
  }
  if (r.original.memory && r.result.memory) {
    out += fmt::format("| peak RSS | {} | {} | |\n", human_bytes(r.original.memory->peak_rss_bytes),
                       human_bytes(r.result.memory->peak_rss_bytes));
    out += fmt::format("| model memory (peak − baseline) | {} | {} | |\n",
                       human_bytes(r.original.memory->delta_rss_bytes),
                       human_bytes(r.result.memory->delta_rss_bytes));
  }
  if (r.original.metrics) {
    for (const auto& [name, v] : r.original.metrics->values) {
      out += fmt::format("| {} | {} | {} | |\n", name, metric_cell(r.original, name),
                         metric_cell(r.result, name));
    }
  }
  if (r.agreement) {
    const auto& a = *r.agreement;
    out += "\n## Output agreement\n\n";
    out += fmt::format("- max abs diff: {:.3g}\n- mean abs diff: {:.3g}\n- cosine: {:.6f}\n",
                       a.max_abs_diff, a.mean_abs_diff, a.cosine);
    if (a.label_agreement) out += fmt::format("- label agreement: {:.4f}\n", *a.label_agreement);
    if (a.decision_agreement) {
      out += fmt::format("- decision agreement (row, label pairs): {:.5f}\n", *a.decision_agreement);
    }
    out += fmt::format("- bitwise identical: {}\n", a.identical ? "yes" : "no");
  }
  render_tail(r, out);
  return out;
}

std::string to_summary(const Report& r) {
  if (!r.models.empty()) return compare_summary(r);
  std::string out;
  out += fmt::format("{}: {} -> {}\n", r.command, r.original.path, r.result.path);
  out += fmt::format("  size      {} -> {} ({})\n", human_bytes(r.original.file_bytes),
                     human_bytes(r.result.file_bytes), ratio(r.size_ratio()));
  if (r.original.latency && r.result.latency) {
    out += fmt::format("  latency   p50 {:.2f} ms -> {:.2f} ms ({} speedup)\n",
                       r.original.latency->p50_ms, r.result.latency->p50_ms, ratio(r.speedup()));
  }
  if (r.original.memory && r.result.memory) {
    out += fmt::format("  memory    {} -> {} (peak RSS, model {} -> {})\n",
                       human_bytes(r.original.memory->peak_rss_bytes),
                       human_bytes(r.result.memory->peak_rss_bytes),
                       human_bytes(r.original.memory->delta_rss_bytes),
                       human_bytes(r.result.memory->delta_rss_bytes));
  }
  if (r.agreement) {
    out += fmt::format("  agreement max abs diff {:.3g}, cosine {:.6f}", r.agreement->max_abs_diff,
                       r.agreement->cosine);
    if (r.agreement->label_agreement) {
      out += fmt::format(", labels {:.2f}%", *r.agreement->label_agreement * 100);
    }
    out += "\n";
  }
  if (r.original.metrics && r.result.metrics) {
    out += fmt::format("  {}  {:.4f} -> {:.4f}\n", r.original.metrics->primary,
                       r.original.metrics->primary_value(), r.result.metrics->primary_value());
  }
  summary_verdict(r, out);
  return out;
}

}  // namespace llmc::report
