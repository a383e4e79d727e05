// `llmc distill RECIPE [--resume]`: arguments -> options -> llmc::distill -> result.
#include "cmd_distill.h"

#include <memory>

#include "llmc/distill/distill.h"
#include "llmc/job/job.h"

namespace llmc::tools {

void setup_distill(CLI::App& app, const GlobalFlags& global) {
  auto flags = std::make_shared<RunFlags>();
  auto resume = std::make_shared<bool>(false);
  CLI::App* sub = app.add_subcommand(
      "distill", "train a student from a teacher (knowledge distillation) or alone, with a report");
  add_run_flags(sub, *flags);
  sub->add_flag("--resume", *resume,
                "continue a killed run from its last checkpoint (same recipe)");
  sub->callback([flags, resume, &global] {
    const auto recipe = distill::parse_distill_recipe(flags->recipe, overrides(*flags));
    const auto report = job::run(distill::distill_job(recipe, {*resume, flags->force}),
                                 recipe.common, run_options(*flags));
    finish(report, global);
  });
}

}  // namespace llmc::tools
