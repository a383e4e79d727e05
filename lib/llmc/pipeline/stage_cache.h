// The stage cache of `llmc run`: a stage whose subcommand, options, input artifact, data files
// and llmc version are unchanged is not run again; its output directory and the record it left
// there (OUT/<stage>/.llmc-stage.json) are reused. The key is a SHA-256 (util/sha256, libcrypto)
// over those five things; the record holds the key, the artifact's SHA-256 (checked again before
// reuse) and what the pipeline report shows of the stage. docs/pipelines.md#stage-cache.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llmc/util/json.h"

namespace llmc::pipeline {

// The record file in a stage's output directory.
constexpr const char* kStageRecordName = ".llmc-stage.json";

struct StageKeyInput {
  std::string command;        // "quantize"
  std::string options_json;   // the stage's options, canonical JSON (Stage::options_json)
  std::string input_sha256;   // the stage's input model
  std::vector<std::string> data_sha256;  // the stage's data files, in the recipe's order
  std::string llmc_version;
};

// 64 hex digits: SHA-256 over the fields, each length-prefixed (no two inputs collide by
// concatenation).
std::string stage_key(const StageKeyInput& in);

// SHA-256 of a file's bytes; of a directory, over its files' relative names and contents in
// name order.
std::string sha256_path(const std::string& path);

// The record of `stage_dir`, or nullopt when it has none or it cannot be read as one (the
// directory is then not known to be a stage's).
std::optional<util::Json> read_stage_record(const std::string& stage_dir);
void write_stage_record(const std::string& stage_dir, const util::Json& record);

// Whether `record` lets the stage be reused for `key`: same key, and the artifact it names (a
// file name in `stage_dir`) is there with the SHA-256 it recorded.
bool record_reusable(const util::Json& record, const std::string& key,
                     const std::string& stage_dir);

}  // namespace llmc::pipeline
