#include "llmc/gates/gates.h"

namespace llmc::gates {

std::vector<report::GateResult> evaluate(const recipe::GateSpec& spec, const report::Report& r) {
  std::vector<report::GateResult> out;
  auto gate = [&](const char* name, const std::optional<double>& threshold, bool at_most,
                  const std::optional<double>& actual) {
    if (!threshold) return;
    report::GateResult g;
    g.name = name;
    g.comparison = at_most ? "<=" : ">=";
    g.threshold = *threshold;
    g.actual = actual;
    g.passed = actual && (at_most ? *actual <= *threshold : *actual >= *threshold);
    out.push_back(g);
  };
  const auto& a = r.agreement;
  auto from_agreement = [&](auto member) -> std::optional<double> {
    if (!a) return std::nullopt;
    return (*a).*member;
  };
  gate("max_abs_diff", spec.max_abs_diff, true, from_agreement(&metrics::Agreement::max_abs_diff));
  gate("max_mean_abs_diff", spec.max_mean_abs_diff, true,
       from_agreement(&metrics::Agreement::mean_abs_diff));
  gate("min_cosine", spec.min_cosine, false, from_agreement(&metrics::Agreement::cosine));
  gate("min_label_agreement", spec.min_label_agreement, false,
       a ? a->label_agreement : std::nullopt);
  gate("min_speedup", spec.min_speedup, false, r.speedup());
  gate("max_size_ratio", spec.max_size_ratio, true, r.size_ratio());
  gate("max_metric_drop", spec.max_metric_drop, true, r.metric_drop());
  return out;
}

}  // namespace llmc::gates
