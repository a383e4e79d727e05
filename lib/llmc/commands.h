// The compression subcommands' functions: for each row of llmc/command_table.h, how to parse its
// recipe (full schema), its documented keys, and how to run it. `main`, `validate` and `schema`
// use this table; a unit test checks that it has exactly one entry per row.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "llmc/command_table.h"
#include "llmc/job/job.h"
#include "llmc/recipe/common.h"
#include "llmc/recipe/schema.h"
#include "llmc/report/report.h"

namespace llmc {

// What the command line adds to a recipe run.
struct RunRequest {
  job::RunOptions options;  // --force, recipe path and command line for provenance
  bool resume = false;      // --resume (rows with resumable only)
  std::vector<std::string> rerun;  // --rerun STAGE|all (rows with pipeline only)
};

// A subcommand's recipe as `validate` checks it: the common part and the subcommand's own data
// files (distill.train_data, calibration_data), with their recipe keys.
struct ParsedRecipe {
  recipe::CommonRecipe common;
  std::vector<std::pair<std::string, recipe::DataSpec>> data;
};

struct CommandInfo {
  const CommandRow* row = nullptr;  // name, section, summary, flags
  // Parses a YAML document with the subcommand's full schema (`parse` reads it from its file; a
  // stage of `llmc run` is a document that did not come from its own file): `name` stands for
  // the file in messages and relative paths are relative to its directory.
  std::function<ParsedRecipe(const std::string& name, YAML::Node root,
                             const std::vector<std::string>& sets)>
      parse_document;
  std::function<std::vector<recipe::KeyDoc>()> keys;
  // Parses the document and runs the subcommand through the job runner; the report of the run
  // (`run` reads the document from its file).
  std::function<report::Report(const std::string& name, YAML::Node root,
                               const std::vector<std::string>& sets, const RunRequest& request)>
      run_document;
  // Rows with takes_model_files: the same from model files given instead of a recipe (the
  // recipe built from them and the overrides).
  std::function<report::Report(const std::vector<std::string>& files,
                               const std::vector<std::string>& sets, const RunRequest& request)>
      run_files;

  ParsedRecipe parse(const std::string& path, const std::vector<std::string>& sets) const;
  report::Report run(const std::string& path, const std::vector<std::string>& sets,
                     const RunRequest& request) const;

  std::string name() const { return std::string(row->name); }
  std::string section() const { return std::string(row->section); }
};

const std::vector<CommandInfo>& commands();
const CommandInfo* find_command(const std::string& name_or_section);

// The subcommand a recipe is for, from the subcommand section it contains. Throws RecipeError
// when it has none or several.
const CommandInfo& command_for_recipe(const std::string& path);

// docs/recipes.md: every key of every subcommand's recipe.
std::string recipe_reference_markdown();

}  // namespace llmc
