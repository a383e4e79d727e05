#include "common.h"

#include <cstdio>

#include "llmc/util/error.h"
#include "llmc/util/log.h"

namespace llmc::tools {

namespace {
std::string g_command_line;
std::vector<std::string> g_arguments;
}

void add_run_flags(CLI::App* app, RunFlags& flags, bool model_files) {
  if (model_files) {
    app->add_option("inputs", flags.inputs,
                    "a recipe file (YAML), or the model files to compare (.pt, .onnx)")
        ->required();
  } else {
    app->add_option("recipe", flags.recipe, "recipe file (YAML)")->required();
  }
  app->add_option("--set", flags.sets, "override a recipe key: --set key.path=value")
      ->type_name("KEY=VALUE")
      ->take_all();
  app->add_option("--out", flags.out, "output directory (overrides `output:`)");
  app->add_option("--threads", flags.threads, "intra-op threads (overrides `threads:`)")
      ->check(CLI::Range(1, 1024));
  app->add_flag("--force", flags.force, "replace an existing output directory");
  app->add_flag("--no-memory-check", flags.no_memory_check,
                "run even when the model cannot fit in the memory available (docs/cli.md)");
}

std::vector<std::string> overrides(const RunFlags& flags) {
  std::vector<std::string> sets = flags.sets;
  if (!flags.out.empty()) sets.push_back("output=" + flags.out);
  if (flags.threads > 0) sets.push_back("threads=" + std::to_string(flags.threads));
  return sets;
}

job::RunOptions run_options(const RunFlags& flags) {
  job::RunOptions o;
  o.force = flags.force;
  o.memory_check = !flags.no_memory_check;
  o.recipe_path = flags.recipe;
  o.command_line = g_command_line;
  return o;
}

const std::vector<std::string>& command_arguments() { return g_arguments; }

void finish(const report::Report& report, const GlobalFlags& global) {
  // A data-parallel worker other than rank 0 has no result of its own: rank 0 prints the run's.
  if (const util::Json* dp = report.details.find("data_parallel");
      dp != nullptr && dp->at("rank").as_int() != 0) {
    return;
  }
  // Every warning of the report also on stderr (`-q` keeps them): what llmc left alone is
  // never only in a file.
  for (const auto& w : report.warnings) log::warn(w);
  const std::string text =
      global.json ? report::to_json(report).dump(2) + "\n" : report::to_summary(report);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  if (!report.passed()) throw GateFailure(report.failed_gates());
}

void set_command_line(int argc, char** argv) {
  g_arguments.assign(argv, argv + argc);
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) {
    if (i) g_command_line += ' ';
    g_command_line += argv[i];
  }
}

}  // namespace llmc::tools
