#include "llmc/recipe/parse.h"

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "llmc/util/excerpt.h"
#include "llmc/util/file_check.h"

namespace llmc::recipe {

YAML::Node load_yaml(const std::string& path) {
  // Checked before opening: a FIFO would block the read forever.
  if (const auto problem = util::input_file_problem(path)) {
    using Kind = util::FileProblem::Kind;
    const std::string what = problem->kind == Kind::directory
                                 ? "the recipe is a directory, not a YAML file"
                                 : "cannot read the recipe file: " + problem->message;
    throw RecipeError({{path, "", what}});
  }
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw RecipeError(
        {{path, "", "cannot read the recipe file: " + util::problem_from_errno(errno).message}});
  }
  std::stringstream text;
  text << in.rdbuf();
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::ParserException& e) {
    const std::string where =
        e.mark.is_null() ? path : fmt::format("{}:{}:{}", path, e.mark.line + 1, e.mark.column + 1);
    throw RecipeError({{where, "", "invalid YAML: " + e.msg}});
  }
  if (!root.IsDefined() || root.IsNull()) {
    throw RecipeError({{path, "", "the recipe is empty (start it with `recipe_version: 1`)"}});
  }
  if (!root.IsMap()) {
    throw RecipeError({{fmt::format("{}:{}:{}", path, root.Mark().line + 1, root.Mark().column + 1),
                        "", "expected a mapping of recipe keys at the top level"}});
  }
  // A recipe written for a newer llmc would bring keys this one does not know: say that first.
  const YAML::Node version = root["recipe_version"];
  if (version.IsScalar() && version.Scalar() != "1") {
    throw RecipeError({{fmt::format("{}:{}:{}", path, version.Mark().line + 1,
                                    version.Mark().column + 1),
                        "recipe_version",
                        fmt::format("recipe_version {} is not supported (this llmc reads "
                                    "recipe_version: 1)",
                                    util::excerpt(version.Scalar()))}});
  }
  return root;
}

namespace {

// Splits "a.b[0].c" or "a.b.0.c" into {"a", "b", "0", "c"}.
std::vector<std::string> split_key(const std::string& key) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : key) {
    if (c == '.' || c == '[' || c == ']') {
      if (!cur.empty()) parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

bool is_index(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

// A list index of digits; an index too large for size_t reads as SIZE_MAX, past every list.
size_t list_index(const std::string& digits) {
  size_t out = 0;
  for (char c : digits) {
    const auto d = static_cast<size_t>(c - '0');
    if (out > (SIZE_MAX - d) / 10) return SIZE_MAX;
    out = out * 10 + d;
  }
  return out;
}

}  // namespace

std::string normalize_key(const std::string& key) {
  std::string out;
  for (const auto& part : split_key(key)) {
    if (is_index(part)) {
      out += "[" + part + "]";
    } else {
      out += (out.empty() ? "" : ".") + part;
    }
  }
  return out;
}

void apply_overrides(YAML::Node& root, const std::vector<std::string>& sets, Context& ctx) {
  for (const auto& set : sets) {
    const size_t eq = set.find('=');
    const std::string raw_key = set.substr(0, eq);
    // A key of only separators ("--set .=1", "[]=1") names nothing.
    if (eq == std::string::npos || split_key(raw_key).empty()) {
      ctx.add({"--set", "", fmt::format("\"{}\": expected KEY=VALUE", util::excerpt(set))});
      continue;
    }
    const std::string key = normalize_key(raw_key);
    ctx.mark_overridden(key);
    YAML::Node value;
    try {
      value = YAML::Load(set.substr(eq + 1));
    } catch (const YAML::ParserException& e) {
      ctx.add({"--set", key, "invalid YAML value: " + e.msg});
      continue;
    }
    const auto parts = split_key(raw_key);
    YAML::Node cur = root;
    bool ok = true;
    for (size_t i = 0; i + 1 < parts.size() && ok; ++i) {
      YAML::Node next;
      if (is_index(parts[i])) {
        const size_t index = list_index(parts[i]);
        if (!cur.IsSequence() || index >= cur.size()) {
          ctx.add({"--set", key,
                    fmt::format("no list item {} to set (the list has {} items)", parts[i],
                                cur.IsSequence() ? cur.size() : 0)});
          ok = false;
          break;
        }
        next.reset(cur[index]);
      } else {
        // yaml-cpp throws on a key lookup inside a scalar or a list.
        if (!cur.IsMap() && !cur.IsNull()) {
          ctx.add({"--set", key, "cannot set a key inside a value that is not a mapping"});
          ok = false;
          break;
        }
        if (!cur[parts[i]].IsDefined() || cur[parts[i]].IsNull()) {
          cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
        }
        next.reset(cur[parts[i]]);
      }
      cur.reset(next);
    }
    if (!ok) continue;
    const std::string& last = parts.back();
    if (is_index(last)) {
      const size_t index = list_index(last);
      if (!cur.IsSequence() || index >= cur.size()) {
        ctx.add({"--set", key, fmt::format("no list item {} to set (the list has {} items)", last,
                                           cur.IsSequence() ? cur.size() : 0)});
        continue;
      }
      cur[index] = value;
    } else if (cur.IsMap()) {
      cur[last] = value;
    } else {
      ctx.add({"--set", key, "cannot set a key inside a value that is not a mapping"});
    }
  }
}

}  // namespace llmc::recipe
