// The compression subcommands: arguments -> recipe overrides and run request ->
// CommandInfo::run (the job runner) -> result on stdout and the exit code.
#include "cmd_run.h"

#include <filesystem>
#include <memory>
#include <string>

#include "llmc/commands.h"
#include "llmc/distill/launch.h"

namespace llmc::tools {

namespace {

bool is_recipe_file(const std::string& path) {
  const auto ext = std::filesystem::path(path).extension();
  return ext == ".yaml" || ext == ".yml";
}

// `llmc compare a.pt b.pt --data FILE ...`: each flag is an override of the recipe key it names.
void add_model_file_flags(CLI::App* sub, std::vector<std::string>& sets) {
  auto as_set = [&sets](const std::string& key) {
    return [&sets, key](const std::string& value) { sets.push_back(key + "=" + value); };
  };
  sub->add_option_function<std::string>("--data", as_set("data.path"),
                                        "JSONL data (sets data.path)");
  sub->add_option_function<std::string>("--labels", as_set("data.labels"),
                                        "JSON field with the labels (sets data.labels)");
  sub->add_option_function<std::string>("--task", as_set("task.type"),
                                        "single-label|multi-label|language-model (sets task.type)");
  sub->add_option_function<std::string>("--reference", as_set("compare.reference"),
                                        "the reference model, by name or path (sets "
                                        "compare.reference; default: the first)");
  sub->add_option_function<std::string>("--batch-size", as_set("compare.batch_size"),
                                        "rows of the latency batch (sets compare.batch_size; "
                                        "default 16)");
}

}  // namespace

void setup_run_commands(CLI::App& app, const GlobalFlags& global) {
  for (const CommandInfo& command : commands()) {
    auto flags = std::make_shared<RunFlags>();
    auto resume = std::make_shared<bool>(false);
    auto nproc = std::make_shared<int>(0);
    auto rerun = std::make_shared<std::vector<std::string>>();
    CLI::App* sub = app.add_subcommand(command.name(), std::string(command.row->summary));
    add_run_flags(sub, *flags, command.row->takes_model_files);
    auto file_sets = std::make_shared<std::vector<std::string>>();
    if (command.row->takes_model_files) add_model_file_flags(sub, *file_sets);
    if (command.row->resumable) {
      sub->add_flag("--resume", *resume,
                    "continue a killed run from its last checkpoint (same recipe)");
    }
    if (command.row->data_parallel) {
      sub->add_option("--nproc", *nproc,
                      "train with N worker processes on this machine (data-parallel; rank 0 "
                      "writes the output); across machines set RANK, WORLD_SIZE, MASTER_ADDR and "
                      "MASTER_PORT as torchrun does")
          ->check(CLI::Range(1, 256));
    }
    if (command.row->pipeline) {
      sub->add_option("--rerun", *rerun,
                      "run this stage (and the stages after it) even when the stage cache has "
                      "it; `all` for every stage; may be repeated")
          ->type_name("STAGE|all")
          ->delimiter(',')
          ->allow_extra_args(false);
    }
    sub->callback([&command, flags, resume, file_sets, nproc, rerun, &global] {
      if (*nproc > 1) {  // the workers run this same command line without --nproc
        distill::run_local_workers(*nproc, distill::without_nproc(command_arguments()));
        return;
      }
      RunRequest request;
      request.options = run_options(*flags);
      request.resume = *resume;
      request.rerun = *rerun;
      if (!command.row->takes_model_files) {
        finish(command.run(flags->recipe, overrides(*flags), request), global);
        return;
      }
      std::vector<std::string> sets = *file_sets;
      for (const auto& s : overrides(*flags)) sets.push_back(s);
      if (flags->inputs.size() == 1 && is_recipe_file(flags->inputs.front())) {
        request.options.recipe_path = flags->inputs.front();
        finish(command.run(flags->inputs.front(), sets, request), global);
      } else {
        finish(command.run_files(flags->inputs, sets, request), global);
      }
    });
  }
}

}  // namespace llmc::tools
