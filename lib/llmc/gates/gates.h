// Quality gates: the recipe's thresholds checked against a report's measurements.
#pragma once

#include <vector>

#include "llmc/recipe/common.h"
#include "llmc/report/report.h"

namespace llmc::gates {

// One result per gate set in `spec`, in a fixed order. A gate whose measurement is missing
// fails (a gate that cannot be checked must not pass silently).
std::vector<report::GateResult> evaluate(const recipe::GateSpec& spec, const report::Report& r);

}  // namespace llmc::gates
