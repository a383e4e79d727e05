// The table of compression subcommands: their recipe section, how to parse their recipes, and
// their documented keys. `validate` and `schema` use it, so a new subcommand is added here once.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "llmc/recipe/common.h"
#include "llmc/recipe/schema.h"

namespace llmc {

struct CommandInfo {
  std::string name;     // "eval-freeze"
  std::string section;  // "eval_freeze"
  std::string summary;
  // Parses a recipe with the subcommand's full schema; returns the common part.
  std::function<recipe::CommonRecipe(const std::string& path, const std::vector<std::string>& sets)>
      parse;
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
