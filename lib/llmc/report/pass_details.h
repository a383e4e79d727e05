// The report entries the subcommands make of their graph passes' results (passes/
// pass_result.h): passes return counts and lists, the report's JSON is built here, so no pass
// header needs util::Json and the keys are written in one place.
#pragma once

#include "llmc/passes/pipelines.h"
#include "llmc/util/json.h"

namespace llmc::report {

// quantize and prune's inference clean-up, for the passes that ran: details.attention_rewrites
// ({scale_folded: [{module, linear, divisor, exact}], contiguous_transposed_operands: n}) and
// details.fused_gelu.
void add_details(const passes::InferenceCleanup& cleanup, util::Json& details);

}  // namespace llmc::report
