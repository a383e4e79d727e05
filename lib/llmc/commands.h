// The table of compression subcommands: their recipe section, how to parse their recipes, and
// their documented keys. `validate` and `schema` use it, so a new subcommand is added here once.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "llmc/recipe/common.h"
#include "llmc/recipe/schema.h"

namespace llmc {

// A subcommand's recipe as `validate` checks it: the common part and the subcommand's own data
// files (distill.train_data, calibration_data), with their recipe keys.
struct ParsedRecipe {
  recipe::CommonRecipe common;
  std::vector<std::pair<std::string, recipe::DataSpec>> data;
};

struct CommandInfo {
  std::string name;     // "eval-freeze"
  std::string section;  // "eval_freeze"
  std::string summary;
  // Parses a recipe with the subcommand's full schema.
  std::function<ParsedRecipe(const std::string& path, const std::vector<std::string>& sets)> parse;
  std::function<std::vector<recipe::KeyDoc>()> keys;
};

const std::vector<CommandInfo>& commands();
const CommandInfo* find_command(const std::string& name);

// The subcommand a recipe is for, from the subcommand section it contains. Throws RecipeError
// when it has none or several.
const CommandInfo& command_for_recipe(const std::string& path);

// docs/recipes.md: every key of every subcommand's recipe.
std::string recipe_reference_markdown();

}  // namespace llmc
