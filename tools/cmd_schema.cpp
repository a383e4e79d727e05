// `llmc schema [COMMAND] [--markdown]`: the recipe keys the code accepts, with types, defaults
// and descriptions (docs/recipes.md is its Markdown output).
#include "cmd_schema.h"

#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "llmc/commands.h"
#include "llmc/util/error.h"

namespace llmc::tools {

void setup_schema(CLI::App& app, const GlobalFlags&) {
  struct Flags {
    std::string command;
    bool markdown = false;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand("schema", "print the recipe keys of a subcommand");
  sub->add_option("command", flags->command, "subcommand (default: all)");
  sub->add_flag("--markdown", flags->markdown, "the Markdown reference (docs/recipes.md)");
  sub->callback([flags] {
    if (flags->markdown) {
      std::fputs(recipe_reference_markdown().c_str(), stdout);
      return;
    }
    for (const auto& c : commands()) {
      if (!flags->command.empty() && c.name() != flags->command && c.section() != flags->command) {
        continue;
      }
      std::fputs(fmt::format("llmc {}:\n", c.name()).c_str(), stdout);
      for (const auto& k : c.keys()) {
        std::fputs(fmt::format("  {:<40} {}{}\n", k.key, k.type,
                               k.required ? " (required)"
                                          : (k.default_value.empty() ? "" : " = " + k.default_value))
                       .c_str(),
                   stdout);
      }
    }
    if (!flags->command.empty() && find_command(flags->command) == nullptr) {
      throw UsageError("unknown subcommand: " + flags->command);
    }
  });
}

}  // namespace llmc::tools
