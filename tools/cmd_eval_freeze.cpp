// `llmc eval-freeze RECIPE`: arguments -> options -> llmc::freeze -> result.
#include "cmd_eval_freeze.h"

#include <memory>

#include "llmc/freeze/eval_freeze.h"
#include "llmc/job/job.h"

namespace llmc::tools {

void setup_eval_freeze(CLI::App& app, const GlobalFlags& global) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* sub = app.add_subcommand(
      "eval-freeze", "eval mode (deterministic dropout/batch-norm), freeze, optimize for inference");
  add_run_flags(sub, *flags);
  sub->callback([flags, &global] {
    const auto recipe = freeze::parse_eval_freeze_recipe(flags->recipe, overrides(*flags));
    const auto report = job::run(freeze::eval_freeze_job(recipe.eval_freeze), recipe.common,
                                 run_options(*flags));
    finish(report, global);
  });
}

}  // namespace llmc::tools
