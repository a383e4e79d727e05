// `llmc run`: a pipeline recipe's stages in order, each through its subcommand's own parse and
// run functions (llmc/commands.h) in this process, each stage's artifact feeding the next, with
// the stage cache (stage_cache.h), the gates of every stage and of the final artifact, then a
// `llmc compare` of the original and every stage's artifact. Writes OUT/<stage>/ per stage,
// OUT/compare/ (the comparison's own reports) and OUT/report.json|md|html. docs/pipelines.md.
#pragma once

#include "llmc/commands.h"
#include "llmc/pipeline/recipe.h"
#include "llmc/report/report.h"

namespace llmc::pipeline {

// Runs the pipeline. Throws llmc errors for bad input (a stage's own errors included, after its
// line "stage i/n NAME: failed" on stderr); failed gates are in the report (report.passed()),
// with every report already written.
report::Report run_pipeline(const PipelineRecipe& recipe, const RunRequest& request);

// The pipeline's entry of commands() (parse, keys, run), for the command_table() row `row`.
CommandInfo command_entry(const CommandRow& row);

}  // namespace llmc::pipeline
