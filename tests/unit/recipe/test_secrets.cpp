// Credentials in recipes: known key prefixes anywhere, long tokens under key-like names, never
// ${VAR} references, paths or ordinary words; the error names file:line:col and the key, not the
// value.
#include <doctest/doctest.h>

#include "llmc/recipe/common.h"
#include "llmc/recipe/parse.h"
#include "llmc/recipe/secrets.h"
#include "test_support.h"

using llmc::recipe::credential_kind;

TEST_CASE("credential_kind: what looks like a key and what does not") {
  CHECK(credential_kind("note", "sk-proj-abcdefghijklmnop1234") ==
        "an API key (it starts with \"sk-\")");
  CHECK(credential_kind("x", "ghp_0123456789abcdefABCDEF") != "");
  CHECK(credential_kind("x", "AKIA0123456789ABCDEF") != "");
  CHECK(credential_kind("api_key", "0123456789abcdef0123456789abcdef") ==
        "a secret (a 32-character token under the key \"api_key\")");
  CHECK(credential_kind("authToken", "dGhpcyBpcyBhIHNlY3JldCB0b2tlbjE=") != "");
  CHECK(credential_kind("OPENAI_API_KEY", "abcdEFGH1234ijklMNOP5678") != "");
  // Not credentials: environment references, short or wordy values, other key names.
  CHECK(credential_kind("api_key", "${OPENAI_API_KEY}") == "");
  CHECK(credential_kind("note", "sk-${KEY}") == "");
  CHECK(credential_kind("note", "sk-learn is a library") == "");
  CHECK(credential_kind("api_key", "short1") == "");
  CHECK(credential_kind("api_key", "abcdefghijklmnopqrstuvwxyz") == "");  // no digit
  CHECK(credential_kind("tokenizer", "abcdEFGH1234ijklMNOP5678") == "");
  CHECK(credential_kind("tokens_per_request", "abcdEFGH1234ijklMNOP5678") == "");
  CHECK(credential_kind("key", "models/bert-base-uncased-v2/model.pt") == "");
  CHECK(credential_kind("sha256", "0123456789abcdef0123456789abcdef") == "");
}

TEST_CASE("a recipe with a key is refused at its line; --set values too; ${VAR} passes") {
  llmc::test::TempDir dir;
  const auto model = dir.write("m.pt", "x");
  const std::string head = "recipe_version: 1\nmodel: m.pt\nexample_inputs: [{name: x, shape: [1]}]\n";
  const auto bad = dir.write("r.yaml", head + "output: sk-abcdefghijklmnopqrstuvwx\n");
  try {
    llmc::recipe::parse_recipe(bad, {}, llmc::recipe::common_schema());
    FAIL("no error");
  } catch (const llmc::RecipeError& e) {
    const std::string what = e.what();
    CHECK(what.find("r.yaml:4:9: output: this value looks like an API key (it starts with "
                    "\"sk-\"); credentials never go in a recipe") != std::string::npos);
    CHECK(what.find("write ${VAR} here") != std::string::npos);
    CHECK(what.find("abcdefghijklmnop") == std::string::npos);
  }
  const auto good = dir.write("g.yaml", head);
  try {
    llmc::recipe::parse_recipe(good, {"gates.api_key=0123456789abcdef0123456789abcdef"},
                               llmc::recipe::common_schema());
    FAIL("no error");
  } catch (const llmc::RecipeError& e) {
    CHECK(std::string(e.what()).find("--set: gates.api_key: this value looks like a secret") !=
          std::string::npos);
  }
  setenv("LLMC_TEST_SECRET_DIR", "sk-abcdefghijklmnopqrstuvwx", 1);
  const auto env = dir.write("e.yaml", head + "output: ${LLMC_TEST_SECRET_DIR}\n");
  CHECK(llmc::recipe::parse_recipe(env, {}, llmc::recipe::common_schema()).output.find("sk-") !=
        std::string::npos);
  unsetenv("LLMC_TEST_SECRET_DIR");
}
