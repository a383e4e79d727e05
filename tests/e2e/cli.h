// Running the built llmc binary from end-to-end tests.
#pragma once

#include <string>
#include <vector>

#include "llmc/util/json.h"
#include "test_support.h"  // fixture()

namespace llmc::test {

struct CliResult {
  int code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `llmc args...` in `cwd` (default: the current directory), with stdin closed; with a
// `wrapper`, runs `wrapper... llmc args...` (e.g. setpriv to drop root).
CliResult run_llmc(const std::vector<std::string>& args, const std::string& cwd = "",
                   const std::vector<std::string>& wrapper = {});

// Sets an environment variable for this process (and the llmc runs it starts) while alive;
// puts back what was there.
struct EnvOverride {
  EnvOverride(const char* name, const std::string& value);
  ~EnvOverride();
  EnvOverride(const EnvOverride&) = delete;
  EnvOverride& operator=(const EnvOverride&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// The source tree (LLMC_SOURCE_ROOT), for recipes/ and docs/.
std::string source_root();

util::Json read_json(const std::string& path);

// A stand-in for the debtags case study's files (recipes/examples/debtags/ and debtags-lm/) made
// from the tiny distill fixtures, in the layout the recipes read: train.jsonl, test.jsonl,
// spm.model, teacher.pt, student.pt, out/teacher/model.pt and lm.pt (a causal LM). Sets
// LLMC_DEBTAGS to it for this process and the llmc runs it starts.
void use_debtags_standin(const std::string& dir);

}  // namespace llmc::test
