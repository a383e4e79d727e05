#include "llmc/prune/recipe.h"

#include <cstdio>

#include <fmt/format.h>

#include "llmc/passes/fuse_tanh_gelu.h"
#include "llmc/passes/optimize_attention.h"
#include "llmc/recipe/parse.h"

namespace llmc::prune {

namespace {

recipe::Section<Override> override_schema() {
  recipe::Section<Override> s;
  s.text("layers", &Override::layers, "glob over Linear module names").required();
  s.number("sparsity", &Override::sparsity, 0, 1, "sparsity of the matching layers", false, true)
      .required();
  s.origin(&Override::origin);
  return s;
}

recipe::Section<StructuredOptions> structured_schema() {
  recipe::Section<StructuredOptions> s;
  s.number("ffn", &StructuredOptions::ffn, 0, 1,
           "fraction of feed-forward intermediate neurons removed in each block (rows of the "
           "first Linear, columns of the second)",
           false, true);
  s.number("heads", &StructuredOptions::heads, 0, 1,
           "fraction of attention heads removed in each attention layer (rows of query, key "
           "and value, columns of the output projection, and the head count)",
           false, true);
  s.number("channels", &StructuredOptions::channels, 0, 1,
           "fraction of output channels removed in each Conv2d whose output reaches one other "
           "Conv2d or Linear through batch norm, element-wise activations and pooling (the "
           "batch norm's channels and the next layer's inputs go too)",
           false, true);
  s.choice("importance", &StructuredOptions::importance,
           {{"weight", Importance::weight}, {"activation", Importance::activation}},
           "how units are ranked: weight (norms of the weights in and out) or activation (norm "
           "of the unit's activation on the calibration data times its outgoing weights)");
  return s;
}

}  // namespace

recipe::Section<PruneRecipe> prune_schema() {
  recipe::Section<PruneOptions> s;
  s.choice("method", &PruneOptions::method,
           {{"magnitude", Method::magnitude}, {"wanda", Method::wanda}},
           "weight importance for unstructured and N:M pruning: magnitude (|W|) or wanda "
           "(|W| x L2 norm of the input feature over the calibration data, compared within each "
           "output row; needs `data`)");
  s.number("sparsity", &PruneOptions::sparsity, 0, 1,
           "fraction of the selected Linear weights set to zero (unstructured)", false, true);
  s.choice("scope", &PruneOptions::scope, {{"local", Scope::local}, {"global", Scope::global}},
           "local: every selected layer reaches the sparsity; global: one threshold over all "
           "selected layers");
  s.choice("comparison", &PruneOptions::comparison,
           {{"auto", Comparison::automatic}, {"row", Comparison::row}, {"layer", Comparison::layer}},
           "local scope: which weights compete for removal — each output row's (every row "
           "loses the same share, as the Wanda paper does) or the whole layer's; auto: row for "
           "wanda, layer for magnitude");
  s.text("pattern", &PruneOptions::pattern,
         "unstructured, or N:M semi-structured (e.g. \"2:4\": in every group of M consecutive "
         "input weights of a row, the N most important are kept)");
  s.texts("include", &PruneOptions::include,
          "globs over Linear module names to prune (embeddings and LayerNorm are never Linear)");
  s.texts("exclude", &PruneOptions::exclude,
          "globs over Linear module names to leave alone (e.g. classifier)");
  s.list("overrides", &PruneOptions::overrides, override_schema(),
         "per-glob sparsity for local scope; the first matching entry wins");
  s.section("structured", &PruneOptions::structured, structured_schema(),
            "structured pruning that shrinks tensors (applied before unstructured pruning)");
  s.integer("calibration_batches", &PruneOptions::calibration_batches, 1, 1 << 20,
            "batches whose activations wanda and activation importance use (from "
            "calibration_data, else from the recipe's data)");
  s.optional_section("calibration_data", &PruneOptions::calibration_data, recipe::data_schema(),
                     "JSONL calibration data (e.g. training samples), so that the batches "
                     "wanda and activation importance see are not the ones the report "
                     "evaluates on; default: the first calibration_batches batches of `data`");
  s.integer("steps", &PruneOptions::steps, 1, 1000,
            "prune gradually in this many steps, sparsity rising linearly (wanda re-measures "
            "activations on the partly pruned model at each step)");
  s.flag("optimize_attention", &PruneOptions::optimize_attention, passes::kOptimizeAttentionHelp);
  s.flag("fuse_gelu", &PruneOptions::fuse_gelu, passes::kFuseGeluHelp);
  s.origin(&PruneOptions::origin);
  s.check([](const PruneOptions& o, const recipe::Origin& where, recipe::Context& ctx) {
    auto add = [&](const std::string& key, const std::string& message) {
      ctx.add({where.location, recipe::join_key(where.key, key), message});
    };
    if (o.pattern != "unstructured") {
      long n = 0, m = 0;
      char tail = 0;
      if (std::sscanf(o.pattern.c_str(), "%ld:%ld%c", &n, &m, &tail) != 2 || n < 1 || m < 2 ||
          n >= m || m > 64) {
        add("pattern", "expected unstructured or N:M with 1 <= N < M <= 64 (e.g. \"2:4\"), got \"" +
                           o.pattern + "\"");
      } else if (o.sparsity > 0) {
        add("sparsity", fmt::format("pattern {} fixes the sparsity at {}; leave sparsity unset",
                                    o.pattern, 1.0 - static_cast<double>(n) / m));
      }
      if (!o.overrides.empty()) add("overrides", "overrides apply to unstructured pruning");
    }
    if (o.scope == Scope::global && !o.overrides.empty()) {
      add("overrides", "overrides give layers their own sparsity: use scope: local");
    }
    if (o.sparsity == 0 && o.pattern == "unstructured" && !o.structured_any()) {
      add("sparsity", "nothing to prune: set sparsity, an N:M pattern, or structured.ffn / "
                      "structured.heads / structured.channels");
    }
  });
  recipe::Section<PruneRecipe> root;
  root.inline_section(&PruneRecipe::common, recipe::common_schema());
  root.section("prune", &PruneRecipe::prune, s, "pruning options").required();
  root.check([](const PruneRecipe& r, const recipe::Origin&, recipe::Context& ctx) {
    const auto& o = r.prune;
    const bool calibration = r.common.data || o.calibration_data;
    if (o.method == Method::wanda && !calibration) {
      ctx.add({o.origin.location, recipe::join_key(o.origin.key, "method"),
               "wanda scores weights by the activations they see: give `data:` or "
               "`prune.calibration_data:` (calibration batches the model's forward reads)"});
    }
    if (o.structured_any() && o.structured.importance == Importance::activation && !calibration) {
      ctx.add({o.origin.location, recipe::join_key(o.origin.key, "structured.importance"),
               "activation importance needs `data:` or `prune.calibration_data:` (calibration "
               "batches)"});
    }
  });
  recipe::hint_other_sections(root, "prune");
  return root;
}

PruneRecipe parse_prune_recipe(const std::string& path, const std::vector<std::string>& sets) {
  return parse_prune_document(path, recipe::load_yaml(path), sets);
}

PruneRecipe parse_prune_document(const std::string& name, YAML::Node root,
                                 const std::vector<std::string>& sets) {
  PruneRecipe r = recipe::parse_recipe_document(name, std::move(root), sets, prune_schema());
  long n = 0, m = 0;
  if (r.prune.pattern != "unstructured" &&
      std::sscanf(r.prune.pattern.c_str(), "%ld:%ld", &n, &m) == 2) {
    r.prune.n = n;
    r.prune.m = m;
  }
  return r;
}

}  // namespace llmc::prune
