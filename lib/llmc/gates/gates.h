// Quality gates: a measurement checked against a threshold. Every gate result of a report is
// built here: the recipe's gates (evaluate) and the checks a subcommand adds of its own
// (eval-freeze's determinism, export-onnx's verification tolerance), through check().
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "llmc/recipe/common.h"
#include "llmc/report/report.h"

namespace llmc::gates {

enum class Bound { at_most, at_least };

// One gate's result: `actual` against `threshold` ("<=" for at_most, ">=" for at_least). A gate
// whose measurement is missing fails (a gate that cannot be checked must not pass silently).
report::GateResult check(std::string name, Bound bound, double threshold,
                         std::optional<double> actual);

// One result per gate set in `spec`, in a fixed order.
std::vector<report::GateResult> evaluate(const recipe::GateSpec& spec, const report::Report& r);

}  // namespace llmc::gates
