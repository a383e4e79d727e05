// Reading a recipe: YAML file -> --set overrides -> schema binding -> typed options, with every
// issue collected and thrown at once as a RecipeError (exit code 2).
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "llmc/recipe/context.h"
#include "llmc/recipe/schema.h"
#include "llmc/recipe/secrets.h"

namespace llmc::recipe {

// Loads the YAML document; syntax errors, an unreadable file or a non-mapping document throw
// RecipeError with file:line:column.
YAML::Node load_yaml(const std::string& path);

// Applies "--set key.path=value" overrides to the document. The value is read as YAML, so
// `--set bench.runs=50`, `--set gates.min_cosine=0.99` and `--set eval_freeze.preserve=[a,b]`
// work. List items are addressed as `example_inputs[0].shape` or `example_inputs.0.shape`.
// Malformed overrides are recorded in `ctx`.
void apply_overrides(YAML::Node& root, const std::vector<std::string>& sets, Context& ctx);

// Normalizes a --set key path to the form binding uses ("a.0.b" -> "a[0].b").
std::string normalize_key(const std::string& key);

// Binds a YAML document that did not come from a file (e.g. built from command-line arguments);
// `name` stands for the file in messages, and relative paths are relative to the working
// directory.
template <class R>
R parse_recipe_document(const std::string& name, YAML::Node root,
                        const std::vector<std::string>& sets, const Section<R>& schema) {
  Context ctx(name);
  apply_overrides(root, sets, ctx);
  check_no_credentials(root, ctx);
  ctx.throw_if_errors();
  R out{};
  schema.bind(root, out, ctx, "");
  ctx.throw_if_errors();
  return out;
}

template <class R>
R parse_recipe(const std::string& path, const std::vector<std::string>& sets,
               const Section<R>& schema) {
  return parse_recipe_document(path, load_yaml(path), sets, schema);
}

}  // namespace llmc::recipe
