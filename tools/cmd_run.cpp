// The compression subcommands: arguments -> recipe overrides and run request ->
// CommandInfo::run (the job runner) -> result on stdout and the exit code.
#include "cmd_run.h"

#include <memory>
#include <string>

#include "llmc/commands.h"

namespace llmc::tools {

void setup_run_commands(CLI::App& app, const GlobalFlags& global) {
  for (const CommandInfo& command : commands()) {
    auto flags = std::make_shared<RunFlags>();
    auto resume = std::make_shared<bool>(false);
    CLI::App* sub = app.add_subcommand(command.name(), std::string(command.row->summary));
    add_run_flags(sub, *flags);
    if (command.row->resumable) {
      sub->add_flag("--resume", *resume,
                    "continue a killed run from its last checkpoint (same recipe)");
    }
    sub->callback([&command, flags, resume, &global] {
      RunRequest request;
      request.options = run_options(*flags);
      request.resume = *resume;
      finish(command.run(flags->recipe, overrides(*flags), request), global);
    });
  }
}

}  // namespace llmc::tools
