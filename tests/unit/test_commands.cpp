// The subcommand table: every row of command_table() has its functions in commands() and the
// other way round; lookups by name and section; docs/recipes.md's tables render one cell per
// column (choices such as `blas|libtorch` once split rows).
#include <doctest/doctest.h>

#include <set>
#include <sstream>
#include <string>

#include "llmc/command_table.h"
#include "llmc/commands.h"

TEST_CASE("commands(): one entry per row of command_table(), in the same order") {
  const auto& rows = llmc::command_table();
  const auto& entries = llmc::commands();
  REQUIRE(entries.size() == rows.size());
  std::set<std::string> names, sections;
  for (size_t i = 0; i < rows.size(); ++i) {
    CAPTURE(rows[i].name);
    CHECK(entries[i].row == &rows[i]);
    CHECK(entries[i].keys);
    CHECK(entries[i].parse_document);
    CHECK(entries[i].run_document);
    CHECK_FALSE(entries[i].keys().empty());
    names.insert(std::string(rows[i].name));
    sections.insert(std::string(rows[i].section));
  }
  CHECK(names.size() == rows.size());
  CHECK(sections.size() == rows.size());
}

TEST_CASE("find_command: by subcommand name or recipe section, nullptr otherwise") {
  REQUIRE(llmc::find_command("export-onnx") != nullptr);
  CHECK(llmc::find_command("export-onnx") == llmc::find_command("export_onnx"));
  CHECK(llmc::find_command("export-onnx")->section() == "export_onnx");
  CHECK(llmc::find_command("distill")->row->resumable);
  CHECK_FALSE(llmc::find_command("quantize")->row->resumable);
  CHECK(llmc::find_command("validate") == nullptr);
  CHECK(llmc::find_command("") == nullptr);
  CHECK(llmc::find_command_row("inspect") == nullptr);
}

TEST_CASE("the recipe reference: every table row has exactly the header's 4 cells") {
  const std::string md = llmc::recipe_reference_markdown();
  std::istringstream in(md);
  int rows = 0, with_pipe = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| ", 0) != 0) continue;
    // Cells are separated by `|` not preceded by a backslash.
    int separators = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) ++separators;
    }
    CAPTURE(line);
    CHECK(separators == 5);
    with_pipe += line.find("\\|") != std::string::npos ? 1 : 0;
    ++rows;
  }
  CHECK(rows > 100);
  CHECK(with_pipe > 0);  // choices such as `blas|libtorch` are there, escaped
}

TEST_CASE("command_table(): only distill takes --nproc, only compare takes model files") {
  for (const auto& row : llmc::command_table()) {
    CAPTURE(row.name);
    CHECK(row.pipeline == (row.name == "run"));
    CHECK(row.runs_models);
    CHECK(row.data_parallel == (row.name == "distill"));
    CHECK(row.takes_model_files == (row.name == "compare"));
    CHECK(row.resumable == (row.name == "distill"));
  }
}
