// `llmc prune RECIPE`: arguments -> options -> llmc::prune -> result.
#include "cmd_prune.h"

#include <memory>

#include "llmc/job/job.h"
#include "llmc/prune/prune.h"

namespace llmc::tools {

void setup_prune(CLI::App& app, const GlobalFlags& global) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* sub = app.add_subcommand(
      "prune", "magnitude, Wanda, N:M and structured pruning (feed-forward neurons, attention "
               "heads) with a report");
  add_run_flags(sub, *flags);
  sub->callback([flags, &global] {
    const auto recipe = prune::parse_prune_recipe(flags->recipe, overrides(*flags));
    const auto report = job::run(prune::prune_job(recipe.prune), recipe.common, run_options(*flags));
    finish(report, global);
  });
}

}  // namespace llmc::tools
