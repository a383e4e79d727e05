// Estimated monthly serving cost from measured throughput (torch-free). The formula, also in
// docs/compare.md:
//   rows per month  = requests_per_month x rows_per_request
//   busy hours      = rows per month / (throughput rows/s x 3600)
//   monthly cost    = busy hours x hardware_per_hour
//   hosted API cost = requests_per_month x api_calls_per_request x tokens_per_request / 1000
//                     x api_price_per_1k_tokens
// Busy hours count only the time spent computing on the machine measured, at the measured batch
// size and threads: no idle capacity, no peak headroom, no overhead besides the model.
#pragma once

#include <optional>
#include <string>

#include "llmc/recipe/context.h"

namespace llmc::compare {

struct CostSpec {
  double hardware_per_hour = 0;   // price of an hour of the machine measured
  double requests_per_month = 0;
  double rows_per_request = 1;    // rows (samples) one request sends through the model
  double tokens_per_request = 0;  // tokens one request costs at the hosted API
  std::optional<double> api_price_per_1k_tokens;
  double api_calls_per_request = 1;
  std::string currency = "USD";
  recipe::Origin origin;
};

struct CostEstimate {
  double rows_per_month = 0;
  double busy_hours = 0;
  double monthly_cost = 0;
};

// nullopt when the throughput is not positive (not measured).
std::optional<CostEstimate> serving_cost(const CostSpec& spec, double throughput_rows_per_s);

// nullopt when the spec has no API price.
std::optional<double> api_monthly_cost(const CostSpec& spec);

}  // namespace llmc::compare
