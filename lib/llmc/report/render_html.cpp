// report.html of `llmc compare`: one self-contained file a person opens in a browser — inline
// CSS and SVG only (no script, font or image is fetched): the models table, bar charts of size,
// latency, memory, task metric and serving cost per model, the learning curves of the distill
// runs, the softmax-with-temperature panel, gates, warnings and provenance.
#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "llmc/report/report.h"
#include "llmc/report/svg_bars.h"
#include "llmc/report/svg_chart.h"

namespace llmc::report {

namespace {

using util::Json;

constexpr double kMiB = 1024.0 * 1024.0;

const char* const kStyle =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1200px}"
    "h1 .passed{color:#2a7d2a}h1 .failed{color:#b00020}"
    "table{border-collapse:collapse;margin:8px 0 16px}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    "tr.reference td{background:#fff4e6}td.fail{color:#b00020;font-weight:bold}"
    ".charts{display:flex;flex-wrap:wrap;gap:16px}"
    "figure.chart{margin:0;border:1px solid #eee;padding:8px}"
    "footer{color:#555;font-size:13px}";

std::string h(const std::string& text) { return escape_xml(text); }

std::string opt(const std::optional<double>& v, const char* format) {
  return v ? fmt::format(fmt::runtime(format), *v) : "–";
}

std::string figure(const std::string& chart, const std::string& svg) {
  return fmt::format("<figure class=\"chart\" data-chart=\"{}\">\n{}</figure>\n", h(chart), svg);
}

std::string primary_metric(const Report& r) {
  for (const auto& m : r.models) {
    if (m.side.metrics) return m.side.metrics->primary;
  }
  return "";
}

std::string models_table(const Report& r, const std::string& primary, bool cost,
                         const std::string& currency) {
  std::string out = "<table class=\"models\">\n<tr><th>model</th><th>runtime</th>";
  out += fmt::format("<th>{}</th>", primary.empty() ? "task metric" : h(primary));
  out += "<th>label agreement</th><th>cosine</th><th>parameters</th><th>file</th><th>p50</th>"
         "<th>p95</th><th>throughput</th><th>peak RSS</th><th>speedup</th>";
  if (cost) out += fmt::format("<th>cost / month ({})</th>", h(currency));
  out += "</tr>\n";
  for (const auto& m : r.models) {
    const auto& s = m.side;
    out += fmt::format("<tr{}><td>{}{}</td><td>{}</td>", m.reference ? " class=\"reference\"" : "",
                       h(m.name), m.reference ? " (reference)" : "", h(m.runtime));
    out += fmt::format("<td>{}</td>", s.metrics && !primary.empty()
                                          ? fmt::format("{:.4f}", s.metrics->value(primary))
                                          : "–");
    out += fmt::format("<td>{}</td><td>{}</td>",
                       m.agreement ? opt(m.agreement->label_agreement, "{:.4f}") : "–",
                       m.agreement ? fmt::format("{:.6f}", m.agreement->cosine) : "–");
    out += fmt::format("<td>{:.2f} M</td><td>{}</td>",
                       static_cast<double>(s.parameter_count) / 1e6, h(human_bytes(s.file_bytes)));
    out += fmt::format("<td>{}</td><td>{}</td><td>{}</td>",
                       s.latency ? fmt::format("{:.2f} ms", s.latency->p50_ms) : "–",
                       s.latency ? fmt::format("{:.2f} ms", s.latency->p95_ms) : "–",
                       s.latency ? fmt::format("{:.1f}/s", s.latency->throughput) : "–");
    out += fmt::format("<td>{}</td><td>{}</td>",
                       s.memory ? h(human_bytes(s.memory->peak_rss_bytes)) : "–",
                       m.reference ? "1×" : opt(m.speedup, "{:.2f}×"));
    if (cost) out += fmt::format("<td>{}</td>", opt(m.monthly_cost, "{:.2f}"));
    out += "</tr>\n";
  }
  return out + "</table>\n";
}

std::string bar_charts(const Report& r, const std::string& primary) {
  std::vector<Bar> size, latency, memory, metric;
  for (const auto& m : r.models) {
    const auto& s = m.side;
    size.push_back({m.name, static_cast<double>(s.file_bytes) / kMiB, m.reference});
    latency.push_back({m.name, s.latency ? std::optional<double>(s.latency->p50_ms) : std::nullopt,
                       m.reference});
    memory.push_back({m.name,
                      s.memory ? std::optional<double>(static_cast<double>(s.memory->peak_rss_bytes) / kMiB)
                               : std::nullopt,
                      m.reference});
    metric.push_back({m.name,
                      s.metrics && !primary.empty() ? std::optional<double>(s.metrics->value(primary))
                                                    : std::nullopt,
                      m.reference});
  }
  const std::string batch = fmt::format("latency p50, batch of {}", r.latency_batch_rows);
  std::string out = "<div class=\"charts\">\n";
  out += figure("size", svg_bar_chart("size", "file size", "MiB", size));
  out += figure("latency", svg_bar_chart("latency", batch, "ms", latency));
  out += figure("memory", svg_bar_chart("memory", "peak memory (RSS)", "MiB", memory));
  if (!primary.empty()) {
    out += figure("metric", svg_bar_chart("metric", "task metric: " + primary, "", metric));
  }
  return out + "</div>\n";
}

std::string cost_section(const Report& r, const Json& cost) {
  const std::string currency = cost.at("currency").as_string();
  std::vector<Bar> bars;
  for (const auto& m : r.models) bars.push_back({m.name, m.monthly_cost, m.reference});
  const Json* api = cost.find("api_monthly_cost");
  if (api != nullptr) bars.push_back({"hosted API", api->as_double(), false});
  std::string out = "<h2>Serving cost</h2>\n";
  out += fmt::format(
      "<p>Requests per month: {:g}; rows per request: {:g}; machine hour: {:g} {}. Busy hours "
      "only (<code>{}</code>).{}</p>\n",
      cost.at("requests_per_month").as_double(), cost.at("rows_per_request").as_double(),
      cost.at("hardware_per_hour").as_double(), h(currency), h(cost.at("formula").as_string()),
      api != nullptr ? " Hosted API: <code>" + h(cost.at("api_formula").as_string()) + "</code>."
                     : "");
  out += "<div class=\"charts\">\n" +
         figure("cost", svg_bar_chart("cost", "estimated cost per month", currency, bars)) +
         "</div>\n";
  return out;
}

std::string learning_curves(const Json& rows) {
  std::map<std::string, Series> loss, metric;
  std::vector<std::string> order;
  std::string metric_name;
  for (const auto& row : rows.as_array()) {
    const std::string model = row.at("model").as_string();
    if (loss.count(model) == 0) order.push_back(model);
    loss[model].name = model;
    metric[model].name = model;
    const double epoch = row.at("epoch").as_double();
    loss[model].points.emplace_back(epoch, row.at("train_loss").as_double());
    if (row.at("value").is_number()) {
      metric[model].points.emplace_back(epoch, row.at("value").as_double());
      metric_name = row.at("metric").as_string();
    }
  }
  Panel loss_panel{"training loss", "epoch", {}};
  Panel metric_panel{"evaluation: " + metric_name, "epoch", {}};
  for (const auto& model : order) {
    loss_panel.series.push_back(loss[model]);
    metric_panel.series.push_back(metric[model]);
  }
  return "<h2>Learning curves</h2>\n<div class=\"charts\">\n" +
         figure("learning-curves",
                svg_line_charts("per epoch, from each distill run's report.json",
                                {loss_panel, metric_panel})) +
         "</div>\n";
}

std::string softmax_section(const Json& panel) {
  const double t = panel.at("temperature").as_double();
  Series at_one{"T = 1", {}}, at_t{fmt::format("T = {:g}", t), {}};
  const auto& p1 = panel.at("p_t1").as_array();
  const auto& pt = panel.at("p_t").as_array();
  for (size_t i = 0; i < p1.size(); ++i) {
    at_one.points.emplace_back(static_cast<double>(i + 1), p1[i].as_double());
    at_t.points.emplace_back(static_cast<double>(i + 1), pt[i].as_double());
  }
  std::string out = "<h2>Softmax with temperature</h2>\n";
  out += fmt::format(
      "<p>softmax(z / T) over the {} largest logits z of {} on {}: a higher temperature "
      "flattens the distribution, so the student also learns how the teacher ranks the "
      "classes it did not pick.</p>\n",
      p1.size(), h(panel.at("model").as_string()),
      panel.at("row").as_string().empty() ? "the first example input"
                                          : h(panel.at("row").as_string()));
  return out + "<div class=\"charts\">\n" +
         figure("softmax", svg_line_charts("probability by rank of the logit",
                                           {Panel{"probabilities", "class rank", {at_one, at_t}}})) +
         "</div>\n";
}

std::string gates_table(const Report& r) {
  if (r.gates.empty()) return "<h2>Gates</h2>\n<p>No gates in the recipe.</p>\n";
  std::string out = "<h2>Gates</h2>\n<table class=\"gates\">\n<tr><th>gate</th><th>threshold</th>"
                    "<th>actual</th><th></th></tr>\n";
  for (const auto& g : r.gates) {
    out += fmt::format("<tr><td>{}</td><td>{} {:.6g}</td><td>{}</td><td{}>{}</td></tr>\n",
                       h(g.name), h(g.comparison), g.threshold,
                       g.actual ? fmt::format("{:.6g}", *g.actual) : "not measured",
                       g.passed ? "" : " class=\"fail\"", g.passed ? "pass" : "FAIL");
  }
  return out + "</table>\n";
}

std::string short_hash(const Json* j) {
  return j != nullptr && j->is_string() ? j->as_string().substr(0, 12) : "–";
}

// `llmc run`: one row per stage (status, time, hashes, artifact), the last passing artifact and
// each stage's own summary.
std::string pipeline_stages(const Json& stages, const Json& details) {
  std::string out = "<h2>Stages</h2>\n<table class=\"stages\">\n<tr><th>stage</th><th>command"
                    "</th><th>status</th><th>seconds</th><th>artifact</th><th>artifact sha256</th>"
                    "<th>input sha256</th><th>options sha256</th><th>cache key</th></tr>\n";
  for (const auto& s : stages.as_array()) {
    const std::string status = s.at("status").as_string();
    const Json* artifact = s.find("artifact");
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td{}>{}</td><td>{:.2f}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td></tr>\n",
        h(s.at("name").as_string()), h(s.at("command").as_string()),
        status == "failed-gate" ? " class=\"fail\"" : "", h(status),
        s.at("seconds").as_double(), artifact != nullptr ? h(artifact->as_string()) : "–",
        h(short_hash(s.find("artifact_sha256"))), h(short_hash(s.find("input_sha256"))),
        h(short_hash(s.find("options_sha256"))), h(short_hash(s.find("cache_key"))));
  }
  out += "</table>\n";
  const Json* last = details.find("last_passing_artifact");
  out += fmt::format("<p>Last passing artifact: {}</p>\n",
                     last != nullptr && last->is_string() ? "<code>" + h(last->as_string()) + "</code>"
                                                          : "none");
  if (const Json* reports = details.find("stage_reports"); reports != nullptr && reports->is_object()) {
    for (const auto& [name, report] : reports->as_object()) {
      out += fmt::format("<details><summary>{}</summary><pre>{}</pre></details>\n", h(name),
                         h(report.at("summary").as_string()));
    }
  }
  return out;
}

std::string provenance(const Report& r) {
  const auto& p = r.provenance;
  std::string out = "<footer>\n<h2>Provenance</h2>\n<ul>\n";
  out += fmt::format("<li>llmc {}, LibTorch {}</li>\n", h(p.llmc_version), h(p.libtorch_version));
  if (!p.recipe_path.empty()) {
    out += fmt::format("<li>recipe: {} (sha256 {})</li>\n", h(p.recipe_path), h(p.recipe_sha256));
  }
  out += fmt::format("<li>command line: <code>{}</code></li>\n", h(p.command_line));
  for (const auto& m : r.models) {
    out += fmt::format("<li>{}: {} (sha256 {})</li>\n", h(m.name), h(m.side.path), h(m.side.sha256));
  }
  out += fmt::format("<li>threads: {}</li>\n", h(p.threads));
  out += fmt::format("<li>machine: {}, {} cores, {}, {}</li>\n", h(p.machine.cpu_model),
                     p.machine.cores, h(human_bytes(p.machine.memory_bytes)), h(p.machine.os));
  out += fmt::format("<li>started: {}</li>\n</ul>\n</footer>\n", h(p.started_at));
  return out;
}

}  // namespace

std::string to_html(const Report& r) {
  const std::string primary = primary_metric(r);
  const Json* cost = r.details.find("cost");
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += fmt::format("<title>llmc {} report</title>\n<style>{}</style>\n</head>\n<body>\n",
                     h(r.command), kStyle);
  out += fmt::format("<h1>llmc {} report: <span class=\"{}\">{}</span></h1>\n", h(r.command),
                     r.passed() ? "passed" : "failed",
                     r.passed() ? "PASSED" : "FAILED (quality gate)");
  out += fmt::format("<p>{} models on the same inputs: {} ({} rows); latency and memory on a "
                     "batch of {} rows.</p>\n",
                     r.models.size(), h(r.inputs_source), r.input_rows, r.latency_batch_rows);
  out += models_table(r, primary, cost != nullptr,
                      cost != nullptr ? cost->at("currency").as_string() : "");
  out += "<h2>Per model</h2>\n" + bar_charts(r, primary);
  if (cost != nullptr) out += cost_section(r, *cost);
  if (const Json* curves = r.details.find("learning_curves")) out += learning_curves(*curves);
  if (const Json* panel = r.details.find("softmax")) out += softmax_section(*panel);
  if (const Json* stages = r.details.find("stages"); stages != nullptr && stages->is_array()) {
    out += pipeline_stages(*stages, r.details);
  }
  out += gates_table(r);
  if (!r.warnings.empty()) {
    out += "<h2>Warnings</h2>\n<ul>\n";
    for (const auto& w : r.warnings) out += "<li>" + h(w) + "</li>\n";
    out += "</ul>\n";
  }
  out += provenance(r);
  return out + "</body>\n</html>\n";
}

}  // namespace llmc::report
