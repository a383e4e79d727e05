#include "llmc/compare/cost.h"

namespace llmc::compare {

std::optional<CostEstimate> serving_cost(const CostSpec& spec, double throughput_rows_per_s) {
  if (!(throughput_rows_per_s > 0)) return std::nullopt;
  CostEstimate e;
  e.rows_per_month = spec.requests_per_month * spec.rows_per_request;
  e.busy_hours = e.rows_per_month / (throughput_rows_per_s * 3600.0);
  e.monthly_cost = e.busy_hours * spec.hardware_per_hour;
  return e;
}

std::optional<double> api_monthly_cost(const CostSpec& spec) {
  if (!spec.api_price_per_1k_tokens) return std::nullopt;
  return spec.requests_per_month * spec.api_calls_per_request * spec.tokens_per_request / 1000.0 *
         *spec.api_price_per_1k_tokens;
}

}  // namespace llmc::compare
