#include "llmc/util/error.h"

#include <fmt/format.h>

#include "llmc/util/excerpt.h"

namespace llmc {

// Bounded, whatever the recipe holds: the sites that echo a value cut it to util::kMaxEcho, and
// this is the backstop for an 8 MB key or a message built from one.
std::string RecipeIssue::str() const {
  std::string out = location.empty() ? std::string() : util::excerpt(location, 512) + ": ";
  if (!key.empty()) out += util::excerpt(key, 256) + ": ";
  return out + util::excerpt(message, 1024);
}

namespace {
std::string join_issues(const std::vector<RecipeIssue>& issues) {
  std::string out;
  for (size_t i = 0; i < issues.size() && i < util::kMaxListedErrors; ++i) {
    if (!out.empty()) out += '\n';
    out += issues[i].str();
  }
  if (issues.size() > util::kMaxListedErrors) {
    out += fmt::format("\n… and {} more", issues.size() - util::kMaxListedErrors);
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
