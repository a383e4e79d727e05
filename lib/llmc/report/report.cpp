#include "llmc/report/report.h"

#include <ctime>

#include <fmt/format.h>

#include "llmc/util/units.h"

namespace llmc::report {

bool Report::passed() const {
  for (const auto& g : gates) {
    if (!g.passed) return false;
  }
  return true;
}

std::vector<std::string> Report::failed_gates() const {
  std::vector<std::string> out;
  for (const auto& g : gates) {
    if (g.passed) continue;
    if (!g.actual) {
      out.push_back(fmt::format("{}: not measurable", g.name));
    } else {
      out.push_back(fmt::format("{}: {:.6g} {} {:.6g}", g.name, *g.actual,
                                g.comparison == ">=" ? "<" : ">", g.threshold));
    }
  }
  return out;
}

std::optional<double> Report::speedup() const {
  if (!original.latency || !result.latency || result.latency->p50_ms <= 0) return std::nullopt;
  return original.latency->p50_ms / result.latency->p50_ms;
}

std::optional<double> Report::size_ratio() const {
  if (original.file_bytes <= 0 || result.file_bytes <= 0) return std::nullopt;
  return static_cast<double>(result.file_bytes) / static_cast<double>(original.file_bytes);
}

std::optional<double> Report::metric_drop() const {
  if (!original.metrics || !result.metrics) return std::nullopt;
  const double drop = original.metrics->primary_value() - result.metrics->primary_value();
  return original.metrics->higher_is_better ? drop : -drop;
}

std::string human_bytes(int64_t bytes) { return util::human_bytes(bytes); }

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace llmc::report
