#include "llmc/gates/gates.h"

namespace llmc::gates {

report::GateResult check(std::string name, Bound bound, double threshold,
                         std::optional<double> actual) {
  const bool at_most = bound == Bound::at_most;
  report::GateResult g;
  g.name = std::move(name);
  g.comparison = at_most ? "<=" : ">=";
  g.threshold = threshold;
  g.actual = actual;
  g.passed = actual && (at_most ? *actual <= threshold : *actual >= threshold);
  return g;
}

std::vector<report::GateResult> evaluate(const recipe::GateSpec& spec, const report::Report& r) {
  std::vector<report::GateResult> out;
  auto gate = [&](const char* name, const std::optional<double>& threshold, Bound bound,
                  const std::optional<double>& actual) {
    if (threshold) out.push_back(check(name, bound, *threshold, actual));
  };
  const auto& a = r.agreement;
  auto from_agreement = [&](auto member) -> std::optional<double> {
    if (!a) return std::nullopt;
    return (*a).*member;
  };
  gate("max_abs_diff", spec.max_abs_diff, Bound::at_most,
       from_agreement(&metrics::Agreement::max_abs_diff));
  gate("max_mean_abs_diff", spec.max_mean_abs_diff, Bound::at_most,
       from_agreement(&metrics::Agreement::mean_abs_diff));
  gate("min_cosine", spec.min_cosine, Bound::at_least,
       from_agreement(&metrics::Agreement::cosine));
  gate("min_label_agreement", spec.min_label_agreement, Bound::at_least,
       a ? a->label_agreement : std::nullopt);
  gate("min_speedup", spec.min_speedup, Bound::at_least, r.speedup());
  gate("max_size_ratio", spec.max_size_ratio, Bound::at_most, r.size_ratio());
  gate("max_metric_drop", spec.max_metric_drop, Bound::at_most, r.metric_drop());
  return out;
}

}  // namespace llmc::gates
