// `llmc compare`: several models measured side by side on the same inputs in one process —
// task metric, agreement with the reference, file size, parameters, latency (TorchScript models
// timed round robin, run by run), throughput, peak memory (each model in a process of its own),
// ONNX files in ONNX Runtime as more rows, gates against the reference and an estimated serving
// cost — written as report.json, report.md and report.html.
#pragma once

#include "llmc/compare/recipe.h"
#include "llmc/job/job.h"
#include "llmc/report/report.h"

namespace llmc::compare {

// Throws llmc errors for bad input; failed gates are in the report (report.passed()), with the
// reports already written.
report::Report run_compare(const CompareRecipe& recipe, const job::RunOptions& options);

}  // namespace llmc::compare
