#include "llmc/passes/pass_result.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <torch/csrc/jit/ir/ir.h>

namespace llmc::passes {

int64_t PassResult::left_count(const std::string& reason) const {
  return std::count_if(left.begin(), left.end(),
                       [&](const LeftAlone& l) { return l.reason == reason; });
}

PassResult& PassResult::operator+=(const PassResult& other) {
  changed += other.changed;
  sites.insert(sites.end(), other.sites.begin(), other.sites.end());
  left.insert(left.end(), other.left.begin(), other.left.end());
  return *this;
}

std::string describe(const std::string& name, const PassResult& result) {
  std::string line = fmt::format("{}: {} changed", name, result.changed);
  if (result.left.empty()) return line;
  line += fmt::format(", {} left alone", result.left.size());
  const LeftAlone& first = result.left.front();
  line += fmt::format(" (first {}: {})", first.site, first.reason);
  return line;
}

std::string node_site(const torch::jit::Node* node) {
  std::ostringstream s;
  const auto range = node->sourceRange();
  if (auto src = range.source(); src && src->filename()) {
    s << *src->filename() << ":" << src->lineno_for_offset(range.start()) + 1 << " ";
  }
  s << node->kind().toQualString();
  return s.str();
}

}  // namespace llmc::passes
