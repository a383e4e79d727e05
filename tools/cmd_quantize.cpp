// `llmc quantize RECIPE`: arguments -> options -> llmc::quantize -> result.
#include "cmd_quantize.h"

#include <memory>

#include "llmc/job/job.h"
#include "llmc/quantize/quantize.h"

namespace llmc::tools {

void setup_quantize(CLI::App& app, const GlobalFlags& global) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* sub = app.add_subcommand(
      "quantize", "post-training quantization (dynamic/static int8, bf16, fp16) with a report");
  add_run_flags(sub, *flags);
  sub->callback([flags, &global] {
    const auto recipe = quantize::parse_quantize_recipe(flags->recipe, overrides(*flags));
    const auto report = job::run(quantize::quantize_job(recipe.quantize), recipe.common,
                                 run_options(*flags));
    finish(report, global);
  });
}

}  // namespace llmc::tools
