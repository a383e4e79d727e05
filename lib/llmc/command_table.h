// The one list of llmc's compression subcommands: name, recipe section, summary and what the
// command line needs to know about each. Everything that lists subcommands reads it: `main`
// (which subcommands exist, which re-execute for the huge-page heap, which take --resume), the
// recipe parser's "this section belongs to llmc X" hints, `validate`, `schema` and the
// generated docs/recipes.md. llmc/commands.h attaches each row's parse, schema and run
// functions; a unit test checks that every row has them. A new subcommand is one row here and
// one entry there.
#pragma once

#include <string_view>
#include <vector>

namespace llmc {

struct CommandRow {
  std::string_view name;     // "eval-freeze": the subcommand on the command line
  std::string_view section;  // "eval_freeze": its recipe section
  std::string_view summary;  // one line for --help and the docs
  bool runs_models = true;   // loads and runs models (worth the huge-page heap's re-execution)
  bool resumable = false;    // takes --resume (continues a killed run from its checkpoints)
  // also takes model files instead of a recipe (`llmc compare a.pt b.pt --data FILE`)
  bool takes_model_files = false;
  bool data_parallel = false;  // takes --nproc N (N local workers; also RANK/WORLD_SIZE/... as torchrun sets)
  bool pipeline = false;  // runs other rows as stages; takes --rerun STAGE|all (`llmc run`)
};

const std::vector<CommandRow>& command_table();

// The row of a subcommand by its name or its recipe section; nullptr when there is none.
const CommandRow* find_command_row(std::string_view name_or_section);

}  // namespace llmc
