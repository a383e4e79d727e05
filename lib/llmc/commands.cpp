#include "llmc/commands.h"

#include <fmt/format.h>

#include "llmc/compare/compare.h"
#include "llmc/compare/recipe.h"
#include "llmc/distill/distill.h"
#include "llmc/distill/recipe.h"
#include "llmc/freeze/eval_freeze.h"
#include "llmc/onnx/export.h"
#include "llmc/onnx/recipe.h"
#include "llmc/pipeline/run.h"
#include "llmc/prune/prune.h"
#include "llmc/prune/recipe.h"
#include "llmc/quantize/quantize.h"
#include "llmc/recipe/parse.h"
#include "llmc/util/cores.h"
#include "llmc/util/error.h"

namespace llmc {

namespace {

// The row of command_table() named `name` (every entry below names one).
const CommandRow* row(std::string_view name) {
  const CommandRow* r = find_command_row(name);
  LLMC_ASSERT(r != nullptr && r->name == name, "a commands() entry without its command_table() row");
  return r;
}

using DataFiles = std::vector<std::pair<std::string, recipe::DataSpec>>;

// A subcommand's recipe parser for a YAML document: `name` stands for the file.
template <class Recipe>
using DocumentParser = Recipe (*)(const std::string& name, YAML::Node root,
                                  const std::vector<std::string>& sets);

// The document parser of a subcommand whose recipe is its schema alone.
template <class Recipe, recipe::Section<Recipe> (*schema)()>
Recipe parse_with_schema(const std::string& name, YAML::Node root,
                         const std::vector<std::string>& sets) {
  return recipe::parse_recipe_document(name, std::move(root), sets, schema());
}

// parse, keys and run from a subcommand's recipe parser, schema and job; `data_files` lists the
// subcommand's own data files in a parsed recipe (for validate).
template <class Recipe, class Schema>
CommandInfo entry(std::string_view name, DocumentParser<Recipe> parse, Schema (*schema)(),
                  std::function<report::Report(const Recipe&, const RunRequest&)> run,
                  std::function<DataFiles(const Recipe&)> data_files = {}) {
  CommandInfo c;
  c.row = row(name);
  c.parse_document = [parse, data_files](const std::string& doc_name, YAML::Node root,
                                         const std::vector<std::string>& sets) {
    Recipe r = parse(doc_name, std::move(root), sets);
    ParsedRecipe out{r.common, data_files ? data_files(r) : DataFiles{}};
    return out;
  };
  c.keys = [schema] {
    std::vector<recipe::KeyDoc> keys;
    schema().document(keys, "");
    return keys;
  };
  c.run_document = [parse, run](const std::string& doc_name, YAML::Node root,
                                const std::vector<std::string>& sets, const RunRequest& request) {
    Recipe r = parse(doc_name, std::move(root), sets);
    r.common.threads = util::resolve_threads(r.common.threads);  // `auto` made a number once
    return run(r, request);
  };
  return c;
}

CommandInfo compare_entry() {
  CommandInfo c = entry<compare::CompareRecipe>(
      "compare", &compare::parse_compare_document, &compare::compare_schema,
      [](const compare::CompareRecipe& r, const RunRequest& q) {
        return compare::run_compare(r, q.options);
      });
  c.run_files = [](const std::vector<std::string>& files, const std::vector<std::string>& sets,
                   const RunRequest& q) {
    auto r = compare::parse_compare_files(files, sets);
    r.common.threads = util::resolve_threads(r.common.threads);
    return compare::run_compare(r, q.options);
  };
  return c;
}

}  // namespace

ParsedRecipe CommandInfo::parse(const std::string& path,
                                const std::vector<std::string>& sets) const {
  return parse_document(path, recipe::load_yaml(path), sets);
}

report::Report CommandInfo::run(const std::string& path, const std::vector<std::string>& sets,
                                const RunRequest& request) const {
  return run_document(path, recipe::load_yaml(path), sets, request);
}

const std::vector<CommandInfo>& commands() {
  static const std::vector<CommandInfo> table = {
      entry<freeze::EvalFreezeRecipe>(
          "eval-freeze", &parse_with_schema<freeze::EvalFreezeRecipe, &freeze::eval_freeze_schema>,
          &freeze::eval_freeze_schema,
          [](const freeze::EvalFreezeRecipe& r, const RunRequest& q) {
            return job::run(freeze::eval_freeze_job(r.eval_freeze), r.common, q.options);
          }),
      entry<quantize::QuantizeRecipe>(
          "quantize", &parse_with_schema<quantize::QuantizeRecipe, &quantize::quantize_schema>,
          &quantize::quantize_schema,
          [](const quantize::QuantizeRecipe& r, const RunRequest& q) {
            return job::run(quantize::quantize_job(r.quantize), r.common, q.options);
          },
          [](const quantize::QuantizeRecipe& r) {
            DataFiles d;
            if (r.quantize.calibration_data) {
              d.emplace_back("quantize.calibration_data", *r.quantize.calibration_data);
            }
            return d;
          }),
      entry<prune::PruneRecipe>(
          "prune", &prune::parse_prune_document, &prune::prune_schema,
          [](const prune::PruneRecipe& r, const RunRequest& q) {
            return job::run(prune::prune_job(r.prune), r.common, q.options);
          },
          [](const prune::PruneRecipe& r) {
            DataFiles d;
            if (r.prune.calibration_data) {
              d.emplace_back("prune.calibration_data", *r.prune.calibration_data);
            }
            return d;
          }),
      entry<distill::DistillRecipe>(
          "distill", &parse_with_schema<distill::DistillRecipe, &distill::distill_schema>,
          &distill::distill_schema,
          [](const distill::DistillRecipe& r, const RunRequest& q) {
            return distill::run_distill(r, {q.resume, q.options.force}, q.options);
          },
          [](const distill::DistillRecipe& r) {
            return DataFiles{{"distill.train_data", r.distill.train_data}};
          }),
      entry<onnx::ExportRecipe>(
          "export-onnx", &parse_with_schema<onnx::ExportRecipe, &onnx::export_schema>,
          &onnx::export_schema,
          [](const onnx::ExportRecipe& r, const RunRequest& q) {
            return onnx::run_export(r, q.options);
          }),
      compare_entry(),
      pipeline::command_entry(*row("run")),
  };
  return table;
}

const CommandInfo* find_command(const std::string& name_or_section) {
  const CommandRow* r = find_command_row(name_or_section);
  for (const auto& c : commands()) {
    if (c.row == r) return &c;
  }
  return nullptr;
}

const CommandInfo& command_for_recipe(const std::string& path) {
  const YAML::Node root = recipe::load_yaml(path);
  std::vector<const CommandInfo*> found;
  for (const auto& c : commands()) {
    if (root[c.section()].IsDefined()) found.push_back(&c);
  }
  if (found.size() == 1) return *found.front();
  std::string sections;
  for (const auto& c : commands()) sections += (sections.empty() ? "" : ", ") + c.section();
  if (found.empty()) {
    throw RecipeError({{path, "",
                        fmt::format("cannot tell which subcommand this recipe is for: it has "
                                    "none of the sections {} (add one, or pass --command)",
                                    sections)}});
  }
  throw RecipeError({{path, "", fmt::format("the recipe has sections of several subcommands ({} "
                                            "and {}); pass --command",
                                            found[0]->section(), found[1]->section())}});
}


std::string recipe_reference_markdown() {
  std::string out =
      "# Recipe reference\n\n"
      "Generated by `llmc schema --markdown` from the schema the code checks recipes against; "
      "a test keeps this file in step with the code.\n\n"
      "Every recipe starts with `recipe_version: 1`. Paths are relative to the recipe file "
      "(paths given with `--set` are relative to the working directory). Any string value may "
      "use `${VAR}` or `${VAR:-default}` to read an environment variable; `$$` is a literal "
      "`$`. `--set key.path=value` overrides any key (the value is read as YAML; list items "
      "are `key[0].field`). Credentials never go in a recipe: a value that looks like one (an "
      "API key such as `sk-…`, `ghp_…`, `AKIA…`, or a long base64 or hex token under a key "
      "named like `api_key`, `auth_token`, `secret`, `password`) is refused (exit 2, at its "
      "line); write `${VAR}` and keep the value in the environment.\n";
  for (const auto& c : commands()) {
    out += fmt::format("\n## `llmc {}`\n\n{}.\n\n", c.row->name, c.row->summary);
    out += "| key | type | default | description |\n| --- | --- | --- | --- |\n";
    for (const auto& k : c.keys()) {
      const std::string default_value =
          k.required ? "**required**"
                     : (k.default_value.empty() ? "" : "`" + k.default_value + "`");
      out += fmt::format("| `{}` | {} | {} | {} |\n", report::markdown_cell(k.key), report::markdown_cell(k.type),
                         report::markdown_cell(default_value), report::markdown_cell(k.doc));
    }
  }
  return out;
}

}  // namespace llmc
