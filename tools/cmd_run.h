#pragma once

#include <CLI/CLI.hpp>

#include "common.h"

namespace llmc::tools {

// `llmc eval-freeze|quantize|prune|distill|export-onnx RECIPE`: one subcommand per row of
// llmc::commands(), each with the run flags (and --resume where the row is resumable).
void setup_run_commands(CLI::App& app, const GlobalFlags& global);

}  // namespace llmc::tools
