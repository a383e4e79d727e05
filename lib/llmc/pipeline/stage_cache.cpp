#include "llmc/pipeline/stage_cache.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "llmc/util/atomic_file.h"
#include "llmc/util/sha256.h"

namespace llmc::pipeline {

namespace fs = std::filesystem;

namespace {

void add_field(util::Sha256& h, const std::string& name, const std::string& value) {
  const std::string head = name + ":" + std::to_string(value.size()) + ":";
  h.update(head);
  h.update(value);
}

}  // namespace

std::string stage_key(const StageKeyInput& in) {
  util::Sha256 h;
  add_field(h, "llmc-stage-key", "1");
  add_field(h, "command", in.command);
  add_field(h, "options", in.options_json);
  add_field(h, "input", in.input_sha256);
  add_field(h, "data_files", std::to_string(in.data_sha256.size()));
  for (const auto& d : in.data_sha256) add_field(h, "data", d);
  add_field(h, "llmc_version", in.llmc_version);
  return h.finish_hex();
}

std::string sha256_path(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return util::sha256_file_hex(path);
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(path, ec)) {
    if (e.is_regular_file(ec)) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  util::Sha256 h;
  for (const auto& f : files) {
    add_field(h, "name", f.lexically_relative(path).generic_string());
    add_field(h, "sha256", util::sha256_file_hex(f.string()));
  }
  return h.finish_hex();
}

std::optional<util::Json> read_stage_record(const std::string& stage_dir) {
  std::ifstream in(fs::path(stage_dir) / kStageRecordName, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  try {
    util::Json j = util::parse_json(text.str());
    if (!j.is_object() || j.find("key") == nullptr || !j.at("key").is_string()) return std::nullopt;
    return j;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void write_stage_record(const std::string& stage_dir, const util::Json& record) {
  util::write_file_atomic((fs::path(stage_dir) / kStageRecordName).string(), record.dump(2) + "\n");
}

bool record_reusable(const util::Json& record, const std::string& key,
                     const std::string& stage_dir) {
  const util::Json* k = record.find("key");
  const util::Json* artifact = record.find("artifact_file");
  const util::Json* sha = record.find("artifact_sha256");
  if (k == nullptr || !k->is_string() || k->as_string() != key) return false;
  if (artifact == nullptr || !artifact->is_string() || sha == nullptr || !sha->is_string()) {
    return false;
  }
  const std::string name = artifact->as_string();
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    return false;
  }
  const fs::path file = fs::path(stage_dir) / name;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return false;
  try {
    return util::sha256_file_hex(file.string()) == sha->as_string();
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace llmc::pipeline
