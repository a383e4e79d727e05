// The compression subcommands: arguments -> recipe overrides and run request ->
// CommandInfo::run (the job runner) -> result on stdout and the exit code.
#include "cmd_run.h"

#include <memory>
#include <string>

#include "llmc/commands.h"
#include "llmc/distill/launch.h"

namespace llmc::tools {

void setup_run_commands(CLI::App& app, const GlobalFlags& global) {
  for (const CommandInfo& command : commands()) {
    auto flags = std::make_shared<RunFlags>();
    auto resume = std::make_shared<bool>(false);
    auto nproc = std::make_shared<int>(0);
    CLI::App* sub = app.add_subcommand(command.name(), std::string(command.row->summary));
    add_run_flags(sub, *flags);
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
    sub->callback([&command, flags, resume, nproc, &global] {
      if (*nproc > 1) {  // the workers run this same command line without --nproc
        distill::run_local_workers(*nproc, distill::without_nproc(command_arguments()));
        return;
      }
      RunRequest request;
      request.options = run_options(*flags);
      request.resume = *resume;
      finish(command.run(flags->recipe, overrides(*flags), request), global);
    });
  }
}

}  // namespace llmc::tools
