// The stage cache's key and records: every input of the key changes it; a record is reused only
// with the same key and an intact artifact.
#include <doctest/doctest.h>

#include "llmc/pipeline/stage_cache.h"
#include "llmc/util/sha256.h"
#include "test_support.h"

using llmc::pipeline::StageKeyInput;
using llmc::pipeline::stage_key;

TEST_CASE("stage_key: every field counts, concatenations do not collide") {
  const StageKeyInput base{"quantize", "{\"a\":\"1\"}", std::string(64, 'a'), {"d1"}, "0.1"};
  const std::string k = stage_key(base);
  CHECK(k.size() == 64);
  CHECK(stage_key(base) == k);
  auto changed = [&](auto change) {
    StageKeyInput in = base;
    change(in);
    return stage_key(in);
  };
  CHECK(changed([](StageKeyInput& in) { in.command = "prune"; }) != k);
  CHECK(changed([](StageKeyInput& in) { in.options_json = "{\"a\":\"2\"}"; }) != k);
  CHECK(changed([](StageKeyInput& in) { in.input_sha256 = std::string(64, 'b'); }) != k);
  CHECK(changed([](StageKeyInput& in) { in.data_sha256 = {"d2"}; }) != k);
  CHECK(changed([](StageKeyInput& in) { in.data_sha256 = {}; }) != k);
  CHECK(changed([](StageKeyInput& in) { in.llmc_version = "0.2"; }) != k);
  // "ab" + "c" and "a" + "bc" are different keys.
  const StageKeyInput x{"ab", "c", "", {}, ""};
  const StageKeyInput y{"a", "bc", "", {}, ""};
  CHECK(stage_key(x) != stage_key(y));
}

TEST_CASE("stage records: reused only with the same key and an intact artifact") {
  llmc::test::TempDir dir;
  const std::string stage = dir.path().string();
  CHECK_FALSE(llmc::pipeline::read_stage_record(stage).has_value());
  const auto artifact = dir.write("model.pt", "weights");
  llmc::util::Json record = llmc::util::Json::object();
  record["key"] = "k1";
  record["artifact_file"] = "model.pt";
  record["artifact_sha256"] = llmc::util::sha256_file_hex(artifact);
  llmc::pipeline::write_stage_record(stage, record);
  const auto read = llmc::pipeline::read_stage_record(stage);
  REQUIRE(read.has_value());
  CHECK(llmc::pipeline::record_reusable(*read, "k1", stage));
  CHECK_FALSE(llmc::pipeline::record_reusable(*read, "k2", stage));
  dir.write("model.pt", "changed");
  CHECK_FALSE(llmc::pipeline::record_reusable(*read, "k1", stage));
  llmc::util::Json escaping = *read;
  escaping["artifact_file"] = "../model.pt";
  CHECK_FALSE(llmc::pipeline::record_reusable(escaping, "k1", stage));
  dir.write(llmc::pipeline::kStageRecordName, "{not json");
  CHECK_FALSE(llmc::pipeline::read_stage_record(stage).has_value());
}

TEST_CASE("sha256_path: a file's bytes; a directory's names and contents") {
  llmc::test::TempDir dir;
  const auto f = dir.write("d/a.txt", "one");
  dir.write("d/b.txt", "two");
  CHECK(llmc::pipeline::sha256_path(f) == llmc::util::sha256_hex("one"));
  const auto d = llmc::pipeline::sha256_path((dir.path() / "d").string());
  dir.write("d/b.txt", "three");
  CHECK(llmc::pipeline::sha256_path((dir.path() / "d").string()) != d);
}
