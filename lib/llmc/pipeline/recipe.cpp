#include "llmc/pipeline/recipe.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "llmc/recipe/parse.h"
#include "llmc/util/error.h"
#include "llmc/util/excerpt.h"

namespace llmc::pipeline {

namespace fs = std::filesystem;

namespace {

// The subcommands a stage may run, in the order of command_table(): what each makes and whether
// it needs its input's modules and parameters (quantize, prune and distill rewrite or train
// Linear layers; a frozen model has them inlined as constants).
struct StageCommand {
  std::string name;
  ArtifactKind makes;
  bool needs_modules;
};

const std::vector<StageCommand>& stage_commands() {
  static const std::vector<StageCommand> table = {
      {"eval-freeze", ArtifactKind::frozen_torchscript, false},
      {"quantize", ArtifactKind::torchscript, true},
      {"prune", ArtifactKind::torchscript, true},
      {"distill", ArtifactKind::torchscript, true},
      {"export-onnx", ArtifactKind::onnx, false},
  };
  return table;
}

const StageCommand& stage_command(const std::string& name) {
  for (const auto& c : stage_commands()) {
    if (c.name == name) return c;
  }
  LLMC_ASSERT(false, "not a stage command: " + name);
  return stage_commands().front();
}

// Why `stage` cannot read the artifact of `before`, or "" when it can.
std::string chaining_problem(const StageHead& stage, const StageHead& before) {
  const ArtifactKind made = stage_command(before.command).makes;
  if (made == ArtifactKind::onnx) {
    return fmt::format("stage \"{}\" ({}) needs a TorchScript model, but stage \"{}\" before it "
                       "makes an ONNX file; put export-onnx last or give this stage its own "
                       "model:",
                       stage.name, stage.command, before.name);
  }
  if (made == ArtifactKind::frozen_torchscript && stage_command(stage.command).needs_modules) {
    return fmt::format("stage \"{}\" ({}) needs the model's modules and parameters, but stage "
                       "\"{}\" before it freezes them (eval-freeze inlines them as constants); "
                       "put eval-freeze after it (e.g. quantize, eval-freeze, export-onnx) or "
                       "give this stage its own model:",
                       stage.name, stage.command, before.name);
  }
  return "";
}

// The keys of a stage that are not its subcommand's options.
constexpr const char* kHeadKeys[] = {"name", "command", "model", "on_gate_failure"};

// The top of a pipeline recipe: the shared keys.
recipe::Section<PipelineRecipe> top_schema() {
  recipe::Section<PipelineRecipe> s;
  s.inline_section(&PipelineRecipe::common, recipe::common_schema());
  for (const auto& command : stage_commands()) {
    const CommandRow* row = find_command_row(command.name);
    s.hint(std::string(row->section),
           fmt::format("a pipeline's subcommand options go in a stage: `stages: [{{name: ..., "
                       "command: {}, <its options>}}]`",
                       command.name));
  }
  s.hint("compare", "`llmc run` compares the original and every stage's artifact itself; its "
                    "report.html is the comparison");
  return s;
}

recipe::Section<StageHead> head_schema() {
  std::vector<std::pair<std::string, std::string>> commands;
  for (const auto& command : stage_commands()) commands.emplace_back(command.name, command.name);
  recipe::Section<StageHead> s;
  s.text("name", &StageHead::name,
         "the stage's id, unique in the pipeline ([A-Za-z0-9._-], not `compare`): its output "
         "directory OUT/<name>, its row in the reports and the name --rerun takes")
      .required();
  s.choice("command", &StageHead::command, commands,
           "the subcommand the stage runs; every other key of the stage is an option of that "
           "subcommand's section (e.g. `scheme` of quantize)")
      .required();
  s.path("model", &StageHead::model, recipe::PathCheck::existing_file,
         "the stage's input model; default: the artifact of the stage before it (the first "
         "stage: the recipe's model)");
  s.choice("on_gate_failure", &StageHead::on_gate_failure,
           {{"stop", OnGateFailure::stop}, {"continue", OnGateFailure::carry_on}},
           "when one of the stage's gates fails: stop (the later stages are skipped) or continue "
           "(the later stages run on its artifact); either way the run exits 1");
  s.origin(&StageHead::origin);
  return s;
}

bool valid_stage_name(const std::string& name) {
  if (name.empty() || name == "compare" || name.size() > 100) return false;
  if (!std::isalnum(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-';
  });
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// A key of a stage's own recipe as the pipeline recipe spells it: the subcommand's section
// keys ("quantize.scheme") and the stage's gates and model are the stage's ("stages[1].scheme");
// the shared keys stay as they are.
std::string pipeline_key(const std::string& key, const Stage& stage) {
  const std::string section = stage.command->section();
  if (key == section) return stage.key();
  if (starts_with(key, section + ".") || starts_with(key, section + "[")) {
    return stage.key() + key.substr(section.size());
  }
  if (key == "gates" || starts_with(key, "gates.") || key == "model") {
    return stage.key() + "." + key;
  }
  return key;
}

// Checks a stage with its subcommand's schema; its issues go to `ctx`, named after the stage.
void check_stage(const PipelineRecipe& p, Stage& stage, recipe::Context& ctx) {
  // Before the pipeline runs, a chained stage's model does not exist yet: the recipe's model
  // stands in for it (every stage reads a TorchScript model, see the chaining rule).
  const std::string model = stage.head.model.empty() ? p.common.model : stage.head.model;
  const std::string output = (fs::path(p.common.output) / stage.head.name).string();
  try {
    const ParsedRecipe parsed =
        stage.command->parse_document(p.path, stage_document(p, stage, model, output), {});
    for (const auto& path : parsed.common.input_paths) {
      if (path != parsed.common.model) stage.data_files.push_back(path);
    }
    for (const auto& [key, spec] : parsed.data) {
      stage.data.emplace_back(pipeline_key(key, stage), spec);
    }
  } catch (const RecipeError& e) {
    for (const auto& issue : e.issues()) {
      ctx.add({issue.location, pipeline_key(issue.key, stage),
               fmt::format("stage \"{}\" ({}): {}", stage.head.name, stage.head.command,
                           issue.message)});
    }
  }
}

}  // namespace

const ArtifactKind* stage_artifact_kind(const std::string& command) {
  for (const auto& c : stage_commands()) {
    if (c.name == command) return &c.makes;
  }
  return nullptr;
}

std::string Stage::key() const { return fmt::format("stages[{}]", index); }

std::string path_for_document(const std::string& path, const std::string& recipe_path) {
  const fs::path p(path);
  const fs::path dir = fs::path(recipe_path).parent_path();
  std::string out;
  if (p.is_absolute() || dir.empty()) {
    out = p.lexically_normal().string();
  } else if (!dir.is_absolute()) {
    out = p.lexically_relative(dir).string();
  }
  if (out.empty()) out = fs::absolute(p).lexically_normal().string();
  std::string escaped;
  for (char c : out) escaped += c == '$' ? std::string("$$") : std::string(1, c);
  return escaped;
}

util::Json canonical_json(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  if (node.IsScalar()) return node.Scalar();
  if (node.IsSequence()) {
    util::Json out = util::Json::array();
    for (const auto& item : node) out.push_back(canonical_json(item));
    return out;
  }
  std::map<std::string, util::Json> sorted;
  for (const auto& kv : node) sorted[kv.first.Scalar()] = canonical_json(kv.second);
  util::Json out = util::Json::object();
  for (auto& [key, value] : sorted) out[key] = std::move(value);
  return out;
}

YAML::Node stage_document(const PipelineRecipe& pipeline, const Stage& stage,
                          const std::string& model, const std::string& output) {
  YAML::Node doc(YAML::NodeType::Map);
  for (const auto& kv : stage.document) doc.force_insert(kv.first, kv.second);
  doc["model"] = path_for_document(model, pipeline.path);
  doc["output"] = path_for_document(output, pipeline.path);
  return doc;
}

PipelineRecipe parse_pipeline_document(const std::string& name, YAML::Node root,
                                       const std::vector<std::string>& sets) {
  recipe::Context ctx(name);
  recipe::apply_overrides(root, sets, ctx);
  recipe::check_no_credentials(root, ctx);
  ctx.throw_if_errors();

  // The shared keys first: a stage's recipe is made of them.
  YAML::Node top(YAML::NodeType::Map);
  // (A default YAML::Node is a defined null: whether a key was given is kept apart.)
  YAML::Node stages_node;
  bool has_stages = false;
  for (const auto& kv : root) {
    if (kv.first.Scalar() == "stages") {
      has_stages = true;
      stages_node = kv.second;
    } else {
      top.force_insert(kv.first, kv.second);
    }
  }
  PipelineRecipe p;
  p.path = name;
  top_schema().bind(top, p, ctx, "");
  p.shared = top;
  if (ctx.ok() && p.common.output.empty()) {
    ctx.error(root, "output",
              "a pipeline needs `output:` (or --out DIR): stage NAME writes OUT/NAME");
  }
  if (!has_stages) {
    ctx.error(root, "", "missing required key \"stages\" (the pipeline's stages, in order)");
  } else if (!stages_node.IsSequence() || stages_node.size() == 0) {
    ctx.error(stages_node, "stages",
              fmt::format("expected a non-empty list of stages, got {}",
                          recipe::describe_node(stages_node)));
  }
  ctx.throw_if_errors();

  std::map<std::string, size_t> names;
  for (size_t i = 0; i < stages_node.size(); ++i) {
    const YAML::Node item = stages_node[i];
    Stage stage;
    stage.index = i;
    const std::string key = stage.key();
    if (!item.IsMap()) {
      ctx.error(item, key, fmt::format("expected a stage (a mapping with name and command), got {}",
                                       recipe::describe_node(item)));
      continue;
    }
    YAML::Node head(YAML::NodeType::Map);
    YAML::Node options(YAML::NodeType::Map);
    YAML::Node gates_key, gates;
    bool has_gates = false;
    for (const auto& kv : item) {
      const std::string k = kv.first.Scalar();
      if (std::find(std::begin(kHeadKeys), std::end(kHeadKeys), k) != std::end(kHeadKeys)) {
        head.force_insert(kv.first, kv.second);
      } else if (k == "gates") {
        has_gates = true;
        gates_key = kv.first;
        gates = kv.second;
      } else {
        options.force_insert(kv.first, kv.second);
      }
    }
    const size_t issues_before = ctx.issues().size();
    head_schema().bind(head, stage.head, ctx, key);
    if (ctx.issues().size() != issues_before) continue;
    const YAML::Node name_node = item["name"];
    if (!valid_stage_name(stage.head.name)) {
      ctx.error(name_node, key + ".name",
                fmt::format("stage name \"{}\": use letters, digits, '.', '_' and '-', starting "
                            "with a letter or digit (not `compare`: OUT/compare holds the "
                            "comparison)",
                            util::excerpt(stage.head.name)));
    } else if (auto it = names.find(stage.head.name); it != names.end()) {
      ctx.error(name_node, key + ".name",
                fmt::format("duplicate stage name \"{}\" (stages[{}] has it)", stage.head.name,
                            it->second));
    } else {
      names[stage.head.name] = i;
    }
    // Chaining: can this stage read the artifact of the stage before it?
    if (stage.head.model.empty() && i > 0 && !p.stages.empty() &&
        p.stages.back().index == i - 1) {
      const std::string problem = chaining_problem(stage.head, p.stages.back().head);
      if (!problem.empty()) ctx.error(item, key, problem);
    }
    stage.command = find_command(stage.head.command);
    stage.document = YAML::Node(YAML::NodeType::Map);
    for (const auto& kv : top) {
      const std::string k = kv.first.Scalar();
      if (k != "model" && k != "output" && k != "gates") stage.document.force_insert(kv.first, kv.second);
    }
    if (has_gates) stage.document.force_insert(gates_key, gates);
    stage.document.force_insert(YAML::Node(stage.command->section()), options);
    stage.options_json = canonical_json(stage.document).dump();
    p.stages.push_back(std::move(stage));
  }
  // Each stage with its subcommand's schema, once the stages themselves read well.
  if (ctx.ok()) {
    for (auto& stage : p.stages) check_stage(p, stage, ctx);
  }
  ctx.throw_if_errors();
  return p;
}

PipelineRecipe parse_pipeline_recipe(const std::string& path,
                                     const std::vector<std::string>& sets) {
  return parse_pipeline_document(path, recipe::load_yaml(path), sets);
}

std::vector<recipe::KeyDoc> pipeline_keys() {
  std::vector<recipe::KeyDoc> keys;
  top_schema().document(keys, "");
  keys.push_back({"stages[]", "list of mappings", "", true,
                  "the stages, in order; each runs one subcommand, in OUT/<name>"});
  head_schema().document(keys, "stages[]");
  keys.push_back({"stages[].gates", "mapping", "", false,
                  "the stage's quality gates (the keys of `gates`), checked on its artifact "
                  "against its input model; the top-level `gates` are checked on the final "
                  "artifact against the recipe's model"});
  keys.push_back({"stages[].<option>", "", "", false,
                  "any key of the stage's subcommand section (e.g. `scheme: dynamic-int8` for "
                  "quantize; see that subcommand's table), checked with its schema"});
  return keys;
}

}  // namespace llmc::pipeline
