// Credentials never go in recipes: a value that looks like an API key or token is refused, as a
// recipe error at its line, with the hint to write ${VAR} and keep the value in the environment.
// Checked on the document as written (before ${VAR} is expanded, so an environment value is
// never inspected, echoed or stored) and on --set values.
#pragma once

#include <string>

#include <yaml-cpp/yaml.h>

#include "llmc/recipe/context.h"

namespace llmc::recipe {

// What makes `value` (under the mapping key `key_name`) look like a credential, for the
// message; "" when it does not. A value with "${" is an environment reference and never one.
//   - a known key prefix: sk-, sk_live_, ghp_, gho_, github_pat_, xoxb-, xoxp-, hf_, AKIA, AIza
//     followed by a long run of key characters;
//   - under a key whose name has the word key, token, secret, password or apikey (api_key,
//     auth_token, OPENAI_KEY; not tokenizer or tokens_per_request): a single word of 20 or more
//     base64 or hex characters with both letters and digits.
std::string credential_kind(const std::string& key_name, const std::string& value);

// Adds an issue for every scalar of `root` that looks like a credential (the value itself is
// never quoted in the message).
void check_no_credentials(const YAML::Node& root, Context& ctx);

}  // namespace llmc::recipe
