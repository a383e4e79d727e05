// `llmc validate RECIPE`: checks the recipe, loads the model, builds the measurement inputs
// against forward's signature and reads the subcommand's own data files (every value checked,
// token ids against the model's vocabulary), without running any compression.
#include "cmd_validate.h"

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "llmc/commands.h"
#include "llmc/job/job.h"
#include "llmc/model/inspect.h"
#include "llmc/model/load.h"
#include "llmc/util/json.h"
#include "llmc/util/log.h"
#include "llmc/util/memory_budget.h"

namespace llmc::tools {

void setup_validate(CLI::App& app, const GlobalFlags& global) {
  struct Flags {
    std::string recipe;
    std::vector<std::string> sets;
    std::string command;
    bool no_memory_check = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "validate", "check a recipe, its model and its inputs without running anything");
  sub->add_option("recipe", flags->recipe, "recipe file (YAML)")->required();
  sub->add_option("--set", flags->sets, "override a recipe key: --set key.path=value")
      ->type_name("KEY=VALUE")
      ->take_all();
  sub->add_option("--command", flags->command,
                  "the subcommand the recipe is for (default: from its section)");
  sub->add_flag("--no-memory-check", flags->no_memory_check,
                "load the model even when it looks too large for the memory available");
  sub->callback([flags, &global] {
    const CommandInfo* command = nullptr;
    if (!flags->command.empty()) {
      command = find_command(flags->command);
      if (command == nullptr) throw UsageError("unknown subcommand for --command: " + flags->command);
    } else {
      command = &command_for_recipe(flags->recipe);
    }
    const ParsedRecipe parsed = command->parse(flags->recipe, flags->sets);
    const recipe::CommonRecipe& common = parsed.common;
    // The model is loaded once here: the same check before loading as every run has.
    util::MemoryNeed need;
    need.weights = util::files_bytes({common.model});
    need.min_copies = 1;
    need.usual_copies = 1.2;
    need.what = "validate loads the model once";
    const std::string memory_warning =
        util::check_memory(common.model, need, !flags->no_memory_check);
    if (!memory_warning.empty()) log::warn(memory_warning);
    const auto model = model::load(common.model);
    const auto inputs = job::load_inputs(common, model);
    // The subcommand's own data files get the checks the run would give them.
    std::vector<std::pair<std::string, int64_t>> data_rows;
    for (const auto& [key, spec] : parsed.data) {
      data_rows.emplace_back(
          key, job::read_checked_samples(spec, common.task.type, model, common.model).size());
    }
    const auto args = model::forward_argument_names(model);
    if (global.json) {
      util::Json j = util::Json::object();
      j["valid"] = true;
      j["command"] = command->name();
      j["recipe"] = flags->recipe;
      j["model"] = common.model;
      j["forward_arguments"] = util::Json::array();
      for (const auto& a : args) j["forward_arguments"].push_back(a);
      j["input_rows"] = inputs.agreement.rows();
      j["input_batches"] = static_cast<int64_t>(inputs.agreement.batches.size());
      if (!data_rows.empty()) {
        j["data_rows"] = util::Json::object();
        for (const auto& [key, rows] : data_rows) j["data_rows"][key] = rows;
      }
      std::fputs((j.dump(2) + "\n").c_str(), stdout);
    } else {
      std::fputs(fmt::format("{}: valid recipe for `llmc {}`\n  model   {} (forward: {})\n  inputs  "
                             "{}: {} rows in {} batches\n",
                             flags->recipe, command->name(), common.model, fmt::join(args, ", "),
                             inputs.agreement.source, inputs.agreement.rows(),
                             inputs.agreement.batches.size())
                     .c_str(),
                 stdout);
      for (const auto& [key, rows] : data_rows) {
        std::fputs(fmt::format("  {}  {} rows\n", key, rows).c_str(), stdout);
      }
    }
  });
}

}  // namespace llmc::tools
