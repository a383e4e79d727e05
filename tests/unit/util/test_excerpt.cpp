// Values echoed in messages are bounded and kept on one line.
#include <doctest/doctest.h>

#include <string>

#include "llmc/util/error.h"
#include "llmc/util/excerpt.h"

using llmc::util::excerpt;

TEST_CASE("excerpt: short text unchanged, long text cut with its length, one line") {
  CHECK(excerpt("int3") == "int3");
  CHECK(excerpt(std::string(80, 'a')) == std::string(80, 'a'));
  CHECK(excerpt(std::string(8 << 20, 'a')) == std::string(80, 'a') + "… (8388608 bytes)");
  CHECK(excerpt("a\nb\tc\x01") == "a\\nb\\tc\\x01");
  // A cut never splits a UTF-8 sequence: "é" is two bytes.
  CHECK(excerpt("aé" + std::string(10, 'b'), 2) == "a… (13 bytes)");
}

TEST_CASE("a recipe error lists its first 50 issues, then how many more") {
  std::vector<llmc::RecipeIssue> issues;
  for (int i = 0; i < 3000; ++i) issues.push_back({"r.yaml:1:1", "k", "bad " + std::to_string(i)});
  const std::string what = llmc::RecipeError(issues).what();
  CHECK(what.find("r.yaml:1:1: k: bad 49\n") != std::string::npos);
  CHECK(what.find("bad 50") == std::string::npos);
  CHECK(what.substr(what.rfind('\n') + 1) == "… and 2950 more");
  // One issue with an 8 MB message and key is still one bounded line.
  const std::string huge(8 << 20, 'x');
  const std::string one = llmc::RecipeError({{"r.yaml:2:3", huge, huge}}).what();
  CHECK(one.size() < 2000);
  CHECK(one.find("(8388608 bytes)") != std::string::npos);
}
