// Flags and output shared by the compression subcommands (CLI glue only).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "llmc/job/job.h"
#include "llmc/report/report.h"

namespace llmc::tools {

struct GlobalFlags {
  bool json = false;
  bool quiet = false;
  bool verbose = false;
};

struct RunFlags {
  std::string recipe;
  std::vector<std::string> inputs;  // takes_model_files rows: a recipe, or model files
  std::vector<std::string> sets;
  std::string out;
  int threads = 0;  // 0 = from the recipe
  bool force = false;
  bool no_memory_check = false;
};

// `model_files`: the positional arguments are a recipe or model files (RunFlags::inputs).
void add_run_flags(CLI::App* app, RunFlags& flags, bool model_files = false);

// --out and --threads are overrides of the recipe keys `output` and `threads`.
std::vector<std::string> overrides(const RunFlags& flags);

job::RunOptions run_options(const RunFlags& flags);

// Prints the result on stdout (summary, or the JSON report with --json) and throws GateFailure
// when a gate failed.
void finish(const report::Report& report, const GlobalFlags& global);

// The command line as typed, for provenance (run_options puts it in RunOptions).
void set_command_line(int argc, char** argv);
// The same, one argument per item (argv[0] first): what `--nproc` starts its workers with.
const std::vector<std::string>& command_arguments();

}  // namespace llmc::tools
