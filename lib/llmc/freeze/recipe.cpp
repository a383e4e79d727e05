#include "llmc/freeze/recipe.h"

#include "llmc/passes/fuse_tanh_gelu.h"
#include "llmc/recipe/parse.h"

namespace llmc::freeze {

recipe::Section<EvalFreezeRecipe> eval_freeze_schema() {
  recipe::Section<EvalFreezeOptions> s;
  s.texts("preserve", &EvalFreezeOptions::preserve,
          "methods or attributes to keep through freezing (forward is always kept)");
  s.flag("optimize_for_inference", &EvalFreezeOptions::optimize_for_inference,
         "also run LibTorch's optimize_for_inference after freezing (rewrites linear into a "
         "pre-transposed matmul + add; MKLDNN rewrites that cannot be saved are dropped); off "
         "by default: it measured slower on transformer encoders here (docs/eval-freeze.md)");
  s.flag("fix_traced_training", &EvalFreezeOptions::fix_traced_training,
         "switch dropout/batch-norm calls that a trace in training mode baked in as train=True "
         "to eval (otherwise such a model is refused)");
  s.flag("fuse_gelu", &EvalFreezeOptions::fuse_gelu, passes::kFuseGeluHelp);
  s.integer("determinism_runs", &EvalFreezeOptions::determinism_runs, 2, 1000,
            "runs of the artifact on the same input that must give bitwise-identical outputs");
  s.origin(&EvalFreezeOptions::origin);
  recipe::Section<EvalFreezeRecipe> root;
  root.inline_section(&EvalFreezeRecipe::common, recipe::common_schema());
  root.section("eval_freeze", &EvalFreezeRecipe::eval_freeze, s, "eval-freeze options");
  recipe::hint_other_sections(root, "eval_freeze");
  return root;
}

EvalFreezeRecipe parse_eval_freeze_recipe(const std::string& path,
                                          const std::vector<std::string>& sets) {
  return recipe::parse_recipe(path, sets, eval_freeze_schema());
}

}  // namespace llmc::freeze
