// Progress lines for long steps, part of the logger (util/log.h): a label, how much is done out
// of how much (a count or bytes), the time so far and, once it can be told, the time left,
// rewritten in place on stderr at most five times a second:
//
//   loading model.pt [#########           ] 1.98 GiB/4.40 GiB, 6s, ETA 7s
//   timing [######              ] 6/20 runs, 3s, ETA 7s
//
// Shown only when stderr is a TTY, at info level (not with -q) and outside CI (`CI` unset, empty,
// "0" or "false"); never on stdout. What a line says and when it is redrawn are pure functions
// of the numbers and clock values passed in, tested on their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "llmc/util/log.h"

namespace llmc::log {

enum class ProgressUnit { count, bytes };

// What one progress line says.
struct ProgressState {
  std::string label;  // "timing", "loading model.pt"
  int64_t done = 0;
  int64_t total = 0;  // 0: not known (no bar, no ETA)
  ProgressUnit unit = ProgressUnit::count;
  std::string noun;    // after a count: "runs", "batches"
  std::string detail;  // after the amounts: "loss 0.4213, 310.2 samples/s"
  double elapsed_seconds = 0;
  // `done` when the clock started (a resumed run): the rate, and so the ETA, counts only what
  // was done since.
  int64_t done_at_start = 0;
};

// Seconds left at the rate so far, elapsed * (total - done) / (done - done_at_start): known once
// at least one second has passed and something was done, and only with a total.
std::optional<double> progress_eta(const ProgressState& s);

// "label [#####               ] done/total noun, detail, 12s, ETA 36s"; without a total no bar
// and no ETA ("writing model.pt 1.20 GiB, 3s"). Bytes are shown as util::human_bytes does.
std::string format_progress(const ProgressState& s);

// "7s", "3m05s", "1h02m".
std::string duration_text(double seconds);

// A line last drawn at `last_draw` (never: nullopt) is redrawn at `now` (seconds of one
// monotonic clock) when none was drawn yet or 0.2 s have passed.
bool progress_redraw_due(std::optional<double> last_draw, double now);

// Whether progress lines show, from stderr being a TTY, the log level and the value of the `CI`
// environment variable (nullptr: unset).
bool progress_enabled(bool stderr_tty, Level level, const char* ci);
// The same for this process.
bool progress_enabled();

// `line` cut to fit a terminal `columns` wide (one column kept free, so the cursor never wraps
// onto a second line that "\r" would not clear); unchanged when `columns` is not known (<= 0).
std::string fit_progress_line(const std::string& line, int columns);

// One long step's progress line, from one thread. The line is cleared by done() or the
// destructor, and by every log line printed meanwhile (the next update draws it again).
class Progress {
 public:
  Progress(std::string label, int64_t total, ProgressUnit unit = ProgressUnit::count,
           std::string noun = "");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Sets what is done (and optionally the detail) and redraws when due.
  void update(int64_t done);
  void update(int64_t done, std::string detail);
  void set_label(std::string label) { state_.label = std::move(label); }
  // Counts only what is done from now on towards the rate (a resumed run's earlier steps).
  void set_done_at_start(int64_t done) { state_.done_at_start = done; }
  // Clears the line.
  void done();

  // Whether this process shows progress lines (progress_enabled()).
  bool shown() const { return shown_; }
  // The line as it stands now, for a caller that logs it where lines are not shown.
  std::string text() const;

 private:
  ProgressState state_;
  double started_;
  std::optional<double> last_draw_;
  bool shown_;
};

}  // namespace llmc::log
