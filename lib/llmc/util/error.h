// The one exception hierarchy of llmc. Library code throws these; tools/llmc.cpp
// catches them once, prints the message and maps the type to an exit code.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace llmc {

// Documented in docs/cli.md#exit-codes.
enum class ExitCode : int {
  ok = 0,           // success
  gate_failed = 1,  // a quality gate failed; artifact and reports were still written
  usage = 2,        // command-line or recipe error
  input = 3,        // missing, corrupt or unsuitable model or data
  internal = 4,     // a bug or an environment failure inside llmc
  interrupted = 130,  // stopped by SIGINT (128 + 2), after cleaning up (util/signal_cleanup.h)
  terminated = 143,   // stopped by SIGTERM (128 + 15), after cleaning up
};

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
  virtual ExitCode exit_code() const = 0;
};

// Bad command line (unknown flag, bad --set syntax, existing output without --force).
class UsageError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::usage; }
};

// One problem found in a recipe: where (file:line:col, or "--set KEY"), which key, what.
struct RecipeIssue {
  std::string location;  // "recipes/q8.yaml:12:5" or "--set quantize.scheme"
  std::string key;       // dotted key path, e.g. "quantize.scheme"; empty for the document
  std::string message;

  std::string str() const;
};

// All problems of a recipe at once; what() joins them, one per line.
class RecipeError : public Error {
 public:
  explicit RecipeError(std::vector<RecipeIssue> issues);
  ExitCode exit_code() const override { return ExitCode::usage; }
  const std::vector<RecipeIssue>& issues() const { return issues_; }

 private:
  std::vector<RecipeIssue> issues_;
};

// A missing, corrupt or unsuitable model or data file. `hint` says how to fix it.
class InputError : public Error {
 public:
  InputError(std::string path, std::string message, std::string hint = {});
  ExitCode exit_code() const override { return ExitCode::input; }
  const std::string& path() const { return path_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string path_;
  std::string hint_;
};

// An operator or pattern llmc cannot handle, with the model source location(s).
class UnsupportedOp : public InputError {
 public:
  UnsupportedOp(std::string path, std::string op, std::string source_location,
                std::string message);
  const std::string& op() const { return op_; }

 private:
  std::string op_;
};

// One or more quality gates failed. Thrown after the artifact and reports are written.
class GateFailure : public Error {
 public:
  explicit GateFailure(std::vector<std::string> failed);
  ExitCode exit_code() const override { return ExitCode::gate_failed; }
  const std::vector<std::string>& failed() const { return failed_; }

 private:
  std::vector<std::string> failed_;
};

// Anything that is llmc's own fault or the environment's (disk full, rename failed).
class InternalError : public Error {
 public:
  using Error::Error;
  ExitCode exit_code() const override { return ExitCode::internal; }
};

// A worker process of a multi-process run (`llmc distill --nproc N`) failed: the launcher
// stopped the others and exits with the failed worker's own exit code (4 when it was killed by
// a signal), having already shown the worker's own error.
class WorkerFailure : public Error {
 public:
  WorkerFailure(std::string message, int worker_exit_code)
      : Error(std::move(message)), code_(worker_exit_code) {}
  ExitCode exit_code() const override { return static_cast<ExitCode>(code_); }

 private:
  int code_;
};

// Internal invariants only; never for user input.
[[noreturn]] void assertion_failed(const char* expr, const char* file, int line,
                                   const std::string& message);

}  // namespace llmc

#define LLMC_ASSERT(cond, message)                                          \
  do {                                                                      \
    if (!(cond)) ::llmc::assertion_failed(#cond, __FILE__, __LINE__, (message)); \
  } while (false)
