#include "llmc/util/progress.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "llmc/util/units.h"

namespace llmc::log {

namespace {

constexpr int kBarWidth = 20;
constexpr double kEtaAfterSeconds = 1.0;
constexpr double kRedrawSeconds = 0.2;

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string amount(int64_t n, ProgressUnit unit) {
  return unit == ProgressUnit::bytes ? util::human_bytes(n) : std::to_string(n);
}

}  // namespace

std::optional<double> progress_eta(const ProgressState& s) {
  const int64_t since_start = s.done - s.done_at_start;
  if (s.total <= 0 || since_start <= 0 || s.elapsed_seconds < kEtaAfterSeconds) return {};
  const int64_t left = std::max<int64_t>(0, s.total - s.done);
  return s.elapsed_seconds * static_cast<double>(left) / static_cast<double>(since_start);
}

std::string format_progress(const ProgressState& s) {
  std::string line = s.label;
  if (s.total > 0) {
    const int64_t done = std::clamp<int64_t>(s.done, 0, s.total);
    const auto filled = static_cast<size_t>(kBarWidth * done / s.total);
    line += fmt::format(" [{:<{}}] {}/{}", std::string(filled, '#'), kBarWidth,
                        amount(done, s.unit), amount(s.total, s.unit));
  } else {
    line += " " + amount(s.done, s.unit);
  }
  if (!s.noun.empty()) line += " " + s.noun;
  if (!s.detail.empty()) line += ", " + s.detail;
  line += ", " + duration_text(s.elapsed_seconds);
  if (const auto eta = progress_eta(s)) line += ", ETA " + duration_text(*eta);
  return line;
}

std::string duration_text(double seconds) {
  const auto total = static_cast<int64_t>(std::max(0.0, seconds));
  if (total >= 3600) return fmt::format("{}h{:02}m", total / 3600, total % 3600 / 60);
  if (total >= 60) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}s", total);
}

bool progress_redraw_due(std::optional<double> last_draw, double now) {
  return !last_draw || now - *last_draw >= kRedrawSeconds;
}

bool progress_enabled(bool stderr_tty, Level level, const char* ci) {
  const bool in_ci = ci != nullptr && *ci != '\0' && std::strcmp(ci, "0") != 0 &&
                     std::strcmp(ci, "false") != 0;
  return stderr_tty && level >= Level::info && !in_ci;
}

bool progress_enabled() { return progress_enabled(stderr_is_tty(), level(), std::getenv("CI")); }

std::string fit_progress_line(const std::string& line, int columns) {
  if (columns <= 0 || static_cast<int64_t>(line.size()) < columns) return line;
  // Never inside a UTF-8 sequence: back up to the first byte of a character.
  size_t end = static_cast<size_t>(columns - 1);
  while (end > 0 && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80) --end;
  return line.substr(0, end);
}

Progress::Progress(std::string label, int64_t total, ProgressUnit unit, std::string noun)
    : started_(monotonic_seconds()), shown_(progress_enabled()) {
  state_.label = std::move(label);
  state_.total = total;
  state_.unit = unit;
  state_.noun = std::move(noun);
}

Progress::~Progress() { done(); }

void Progress::update(int64_t done) {
  state_.done = done;
  if (!shown_) return;
  const double now = monotonic_seconds();
  if (!progress_redraw_due(last_draw_, now)) return;
  last_draw_ = now;
  state_.elapsed_seconds = now - started_;
  progress(format_progress(state_));
}

void Progress::update(int64_t done, std::string detail) {
  state_.detail = std::move(detail);
  update(done);
}

void Progress::done() {
  if (last_draw_) progress_done();
  last_draw_.reset();
}

std::string Progress::text() const {
  ProgressState s = state_;
  s.elapsed_seconds = monotonic_seconds() - started_;
  return format_progress(s);
}

}  // namespace llmc::log
