#include "llmc/recipe/context.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "llmc/util/excerpt.h"

namespace llmc::recipe {

namespace fs = std::filesystem;

void Origin::fail(std::string message) const { throw RecipeError({issue(std::move(message))}); }

Context::Context(std::string file) : file_(std::move(file)) {
  dir_ = fs::path(file_).parent_path().string();
}

bool Context::is_overridden(const std::string& key) const {
  // A key is overridden when it or one of its parents (a mapping or a list) was set with --set.
  for (const auto& k : overridden_) {
    if (key == k || (key.size() > k.size() && key.compare(0, k.size(), k) == 0 &&
                     (key[k.size()] == '.' || key[k.size()] == '['))) {
      return true;
    }
  }
  return false;
}

std::string Context::location(const YAML::Node& node, const std::string& key) const {
  if (is_overridden(key)) return "--set";
  if (node.IsDefined() && !node.Mark().is_null()) {
    return fmt::format("{}:{}:{}", file_, node.Mark().line + 1, node.Mark().column + 1);
  }
  return file_;
}

void Context::error(const YAML::Node& node, const std::string& key, std::string message) {
  issues_.push_back({location(node, key), key, std::move(message)});
}

void Context::error(const Origin& origin, std::string message) {
  issues_.push_back(origin.issue(std::move(message)));
}

std::string Context::resolve_path(const std::string& key, const std::string& value) const {
  if (value.empty()) return value;
  fs::path p(value);
  if (p.is_absolute() || is_overridden(key) || dir_.empty()) return p.lexically_normal().string();
  return (fs::path(dir_) / p).lexically_normal().string();
}

std::string Context::interpolate(const YAML::Node& node, const std::string& key,
                                 const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i];
      continue;
    }
    if (text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (text[i + 1] != '{') {
      out += text[i];
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string::npos) {
      error(node, key, fmt::format("unterminated ${{...}} in \"{}\"", util::excerpt(text)));
      return text;
    }
    std::string body = text.substr(i + 2, close - i - 2);
    std::string name = body;
    std::string fallback;
    bool has_fallback = false;
    if (const size_t dash = body.find(":-"); dash != std::string::npos) {
      name = body.substr(0, dash);
      fallback = body.substr(dash + 2);
      has_fallback = true;
    }
    const bool valid_name =
        !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        });
    if (!valid_name) {
      error(node, key, fmt::format("bad environment reference ${{{}}}", util::excerpt(body)));
      return text;
    }
    const char* value = std::getenv(name.c_str());
    if (value != nullptr && *value != '\0') {
      out += value;
    } else if (has_fallback) {
      out += fallback;
    } else {
      error(node, key,
            fmt::format("environment variable {} is not set (write ${{{}:-default}} to give a "
                        "default)",
                        name, name));
      return text;
    }
    i = close;
  }
  return out;
}

void Context::add(RecipeIssue issue) { issues_.push_back(std::move(issue)); }

void Context::throw_if_errors() const {
  if (!issues_.empty()) throw RecipeError(issues_);
}

std::string join_key(const std::string& parent, const std::string& child) {
  return parent.empty() ? child : parent + "." + child;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  auto lower = [](char c) { return std::tolower(static_cast<unsigned char>(c)); };
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  if (word.size() > 64) return "";  // no key is that long; and edit distance is quadratic
  std::string best;
  size_t best_distance = std::string::npos;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // Accept up to a third of the word's length in edits (at least 1, at most 3).
  const size_t limit = std::clamp<size_t>(word.size() / 3, 1, 3);
  return best_distance <= limit ? best : std::string();
}

std::string describe_node(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return "\"" + util::excerpt(node.Scalar()) + "\"";
}

}  // namespace llmc::recipe
