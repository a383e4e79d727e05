#include "llmc/compare/figures.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include "llmc/util/error.h"

namespace llmc::compare {

using util::Json;

std::vector<Json> distill_history_rows(const std::string& model_name,
                                       const std::string& report_path) {
  std::ifstream in(report_path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  const char* hint = "compare.models[].distill_report is the report.json a `llmc distill` run "
                     "wrote next to its model.pt";
  std::vector<Json> rows;
  try {
    const Json report = util::parse_json(text.str());
    const Json* details = report.find("details");
    const Json* history = details != nullptr ? details->find("history") : nullptr;
    const Json* command = report.find("command");
    if (command == nullptr || !command->is_string() || command->as_string() != "distill" ||
        history == nullptr || !history->is_array()) {
      throw InputError(report_path, "not the report.json of a `llmc distill` run (no "
                                    "details.history)", hint);
    }
    const Json* best = details->find("best_metric");
    const std::string metric = best != nullptr && best->is_string() ? best->as_string() : "";
    for (const auto& h : history->as_array()) {
      Json row = Json::object();
      row["model"] = model_name;
      row["epoch"] = h.at("epoch");
      row["train_loss"] = h.at("train_loss");
      row["metric"] = metric;
      const Json* value = metric.empty() ? nullptr : h.find(metric);
      row["value"] = value != nullptr ? *value : Json(nullptr);
      rows.push_back(row);
    }
  } catch (const util::JsonError& e) {
    throw InputError(report_path, std::string("cannot read the distill report: ") + e.what(),
                     hint);
  }
  return rows;
}

std::vector<double> softmax(const std::vector<double>& logits, double t) {
  std::vector<double> out(logits.size());
  if (logits.empty()) return out;
  const double top = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    out[i] = std::exp((logits[i] - top) / t);
    sum += out[i];
  }
  for (auto& v : out) v /= sum;
  return out;
}

Json softmax_panel(const std::vector<double>& logits, double temperature,
                   const std::string& model_name, const std::string& row, size_t count) {
  std::vector<size_t> order(logits.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return logits[a] > logits[b]; });
  if (order.size() > count) order.resize(count);
  std::vector<double> top;
  for (size_t i : order) top.push_back(logits[i]);
  const auto p1 = softmax(top, 1.0);
  const auto pt = softmax(top, temperature);
  Json panel = Json::object();
  panel["model"] = model_name;
  panel["row"] = row;
  panel["temperature"] = temperature;
  Json classes = Json::array(), z = Json::array(), j1 = Json::array(), jt = Json::array();
  for (size_t i = 0; i < order.size(); ++i) {
    classes.push_back(static_cast<int64_t>(order[i]));
    z.push_back(top[i]);
    j1.push_back(p1[i]);
    jt.push_back(pt[i]);
  }
  panel["classes"] = classes;
  panel["logits"] = z;
  panel["p_t1"] = j1;
  panel["p_t"] = jt;
  return panel;
}

}  // namespace llmc::compare
