// Binding context: where a recipe came from, which keys were overridden with --set, and the
// issues collected while binding. Every recipe error goes through here so that each carries
// file:line:column (or "--set KEY") and the dotted key path.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "llmc/util/error.h"

namespace llmc::recipe {

// Where a section of the recipe stood, kept in option structs so that checks that run after a
// model is loaded (e.g. "forward has no argument named X") can still point at the recipe line.
struct Origin {
  std::string location;  // "recipes/a.yaml:4:3" or "--set example_inputs"
  std::string key;       // dotted key path

  RecipeIssue issue(std::string message) const { return {location, key, std::move(message)}; }
  [[noreturn]] void fail(std::string message) const;
};

class Context {
 public:
  // `file` is the recipe path as the user gave it; paths in the recipe are resolved relative to
  // its directory. Paths given through --set are resolved relative to the working directory.
  explicit Context(std::string file);

  const std::string& file() const { return file_; }
  void mark_overridden(const std::string& key) { overridden_.insert(key); }
  bool is_overridden(const std::string& key) const;

  std::string location(const YAML::Node& node, const std::string& key) const;
  Origin origin(const YAML::Node& node, const std::string& key) const {
    return {location(node, key), key};
  }
  void error(const YAML::Node& node, const std::string& key, std::string message);
  void error(const Origin& origin, std::string message);
  void add(RecipeIssue issue);

  // Resolves a path from the recipe (relative to the recipe) or from --set (relative to cwd).
  std::string resolve_path(const std::string& key, const std::string& value) const;

  // The user's input files and directories: every path bound by a key the schema declares as
  // an existing file or directory (Section::path with PathCheck::existing_*), in binding order.
  // Nothing llmc writes may contain or replace them (util::OutputDir's protected paths).
  void add_input_path(std::string path) { input_paths_.push_back(std::move(path)); }
  const std::vector<std::string>& input_paths() const { return input_paths_; }

  // Expands ${VAR} and ${VAR:-default} ("$$" is a literal "$"); an unset variable without a
  // default is an issue at the node.
  std::string interpolate(const YAML::Node& node, const std::string& key, const std::string& text);

  const std::vector<RecipeIssue>& issues() const { return issues_; }
  bool ok() const { return issues_.empty(); }
  // Throws RecipeError with every issue collected so far, if any.
  void throw_if_errors() const;

 private:
  std::string file_;
  std::string dir_;
  std::set<std::string> overridden_;
  std::vector<RecipeIssue> issues_;
  std::vector<std::string> input_paths_;
};

// Joins a parent key path and a child key ("a.b" + "c" = "a.b.c"; "" + "c" = "c").
std::string join_key(const std::string& parent, const std::string& child);

// Optimal string alignment distance: insertions, deletions, substitutions and transpositions of
// neighbours ("modle" -> "model" is 1), case-insensitive.
size_t edit_distance(const std::string& a, const std::string& b);

// The closest of `candidates` to `word` when close enough to be a likely typo, else "".
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);

// How a node reads in a message: `"int3"`, `a mapping`, `a list`, `nothing`.
std::string describe_node(const YAML::Node& node);

}  // namespace llmc::recipe
