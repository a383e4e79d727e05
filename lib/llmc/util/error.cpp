#include "llmc/util/error.h"

#include <fmt/format.h>

namespace llmc {

std::string RecipeIssue::str() const {
  std::string out = location.empty() ? std::string() : location + ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

namespace {
std::string join_issues(const std::vector<RecipeIssue>& issues) {
  std::string out;
  for (const auto& issue : issues) {
    if (!out.empty()) out += '\n';
    out += issue.str();
  }
  return out;
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}
}  // namespace

RecipeError::RecipeError(std::vector<RecipeIssue> issues)
    : Error(join_issues(issues)), issues_(std::move(issues)) {}

InputError::InputError(std::string path, std::string message, std::string hint)
    : Error(path.empty() ? message : path + ": " + message),
      path_(std::move(path)),
      hint_(std::move(hint)) {}

UnsupportedOp::UnsupportedOp(std::string path, std::string op, std::string source_location,
                             std::string message)
    : InputError(std::move(path),
                 fmt::format("unsupported operator {}{}: {}", op,
                             source_location.empty() ? "" : " at " + source_location, message)),
      op_(std::move(op)) {}

GateFailure::GateFailure(std::vector<std::string> failed)
    : Error("quality gate failed: " + join(failed, "; ")), failed_(std::move(failed)) {}

void assertion_failed(const char* expr, const char* file, int line, const std::string& message) {
  throw InternalError(fmt::format("internal assertion `{}` failed at {}:{}: {}", expr, file, line,
                                  message));
}

}  // namespace llmc
