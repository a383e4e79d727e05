#include "llmc/recipe/secrets.h"

#include <cctype>
#include <vector>

#include <fmt/format.h>

namespace llmc::recipe {

namespace {

bool key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=' ||
         c == '-' || c == '_';
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The words of a key name: "OPENAI_API_KEY" -> openai, api, key; "authToken" -> auth, token.
std::vector<std::string> words(const std::string& name) {
  std::vector<std::string> out;
  std::string word;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool upper_after_lower = i > 0 && std::isupper(static_cast<unsigned char>(c)) &&
                                   std::islower(static_cast<unsigned char>(name[i - 1]));
    if (!std::isalnum(static_cast<unsigned char>(c)) || upper_after_lower) {
      if (!word.empty()) out.push_back(lower(word));
      word.clear();
      if (!std::isalnum(static_cast<unsigned char>(c))) continue;
    }
    word += c;
  }
  if (!word.empty()) out.push_back(lower(word));
  return out;
}

bool secret_key_name(const std::string& name) {
  for (const auto& w : words(name)) {
    if (w == "key" || w == "token" || w == "secret" || w == "password" || w == "apikey" ||
        w == "passwd") {
      return true;
    }
  }
  return false;
}

bool long_token(const std::string& v) {
  if (v.size() < 20) return false;
  bool letter = false, digit = false;
  for (char c : v) {
    if (!token_char(c)) return false;
    letter = letter || std::isalpha(static_cast<unsigned char>(c));
    digit = digit || std::isdigit(static_cast<unsigned char>(c));
  }
  return letter && digit;
}

void walk(const YAML::Node& node, const std::string& key, const std::string& key_name,
          Context& ctx) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
      walk(kv.second, join_key(key, name), name, ctx);
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      walk(node[i], fmt::format("{}[{}]", key, i), key_name, ctx);
    }
  } else if (node.IsScalar()) {
    const std::string kind = credential_kind(key_name, node.Scalar());
    if (!kind.empty()) {
      ctx.error(node, key,
                fmt::format("this value looks like {}; credentials never go in a recipe (it is "
                            "checked in, and reports record the recipe): write ${{VAR}} here and "
                            "set VAR in the environment",
                            kind));
    }
  }
}

}  // namespace

std::string credential_kind(const std::string& key_name, const std::string& value) {
  if (value.find("${") != std::string::npos) return "";
  static const char* const prefixes[] = {"sk-", "sk_live_", "ghp_", "gho_", "github_pat_",
                                         "xoxb-", "xoxp-", "hf_", "AKIA", "AIza"};
  for (const char* p : prefixes) {
    const std::string prefix(p);
    if (value.compare(0, prefix.size(), prefix) != 0) continue;
    size_t run = 0;
    for (size_t i = prefix.size(); i < value.size() && key_char(value[i]); ++i) ++run;
    if (run >= 16 && run + prefix.size() == value.size()) {
      return fmt::format("an API key (it starts with \"{}\")", prefix);
    }
  }
  if (secret_key_name(key_name) && long_token(value)) {
    return fmt::format("a secret (a {}-character token under the key \"{}\")", value.size(),
                       key_name);
  }
  return "";
}

void check_no_credentials(const YAML::Node& root, Context& ctx) { walk(root, "", "", ctx); }

}  // namespace llmc::recipe
