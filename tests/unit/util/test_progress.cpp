// Progress lines: what they say, when they are redrawn and where they show, from the numbers and
// clock values alone.
#include <doctest/doctest.h>

#include <string>

#include "llmc/util/progress.h"

using llmc::log::format_progress;
using llmc::log::ProgressState;
using llmc::log::ProgressUnit;

namespace {

ProgressState state(const std::string& label, int64_t done, int64_t total, double elapsed,
                    ProgressUnit unit = ProgressUnit::count, const std::string& noun = "") {
  ProgressState s;
  s.label = label;
  s.done = done;
  s.total = total;
  s.unit = unit;
  s.noun = noun;
  s.elapsed_seconds = elapsed;
  return s;
}

}  // namespace

TEST_CASE("progress line: bar, counts, elapsed time, and an ETA once a second has passed") {
  // Before one second: no ETA yet.
  CHECK(format_progress(state("timing", 6, 20, 0.5, ProgressUnit::count, "runs")) ==
        "timing [######              ] 6/20 runs, 0s");
  // 6 of 20 in 3 s: 14 more take 7 s.
  CHECK(format_progress(state("timing", 6, 20, 3.0, ProgressUnit::count, "runs")) ==
        "timing [######              ] 6/20 runs, 3s, ETA 7s");
  CHECK(format_progress(state("comparing outputs", 20, 20, 4.0, ProgressUnit::count,
                              "batches")) ==
        "comparing outputs [####################] 20/20 batches, 4s, ETA 0s");
  // Nothing done yet: no ETA however long it has been.
  CHECK(format_progress(state("calibrating", 0, 8, 5.0)) == "calibrating [                    ] 0/8, 5s");
}

TEST_CASE("progress line: bytes in binary units; no total means no bar and no ETA") {
  CHECK(format_progress(state("loading model.pt", int64_t{3} << 30, int64_t{4} << 30, 6.0,
                              ProgressUnit::bytes)) ==
        "loading model.pt [###############     ] 3.00 GiB/4.00 GiB, 6s, ETA 2s");
  CHECK(format_progress(state("writing model.pt", int64_t{1536} << 20, 0, 75.0,
                              ProgressUnit::bytes)) ==
        "writing model.pt 1.50 GiB, 1m15s");
  // More done than the total said (a reader that reads a header twice): shown as all done.
  CHECK(format_progress(state("loading m.pt", 1100, 1000, 2.0, ProgressUnit::bytes)) ==
        "loading m.pt [####################] 1000 B/1000 B, 2s, ETA 0s");
}

TEST_CASE("progress line: a detail, and a resumed run's rate counts only its own steps") {
  ProgressState s = state("epoch 2/3", 60, 100, 10.0, ProgressUnit::count, "steps");
  s.detail = "loss 0.4213, 310.2 samples/s";
  s.done_at_start = 50;
  // 10 steps in 10 s, 40 left: 40 s (not 10 * 40 / 60).
  CHECK(*llmc::log::progress_eta(s) == doctest::Approx(40.0));
  CHECK(format_progress(s) ==
        "epoch 2/3 [############        ] 60/100 steps, loss 0.4213, 310.2 samples/s, 10s, ETA 40s");
  // Nothing done since the start: no rate, no ETA.
  s.done = 50;
  CHECK_FALSE(llmc::log::progress_eta(s).has_value());
}

TEST_CASE("progress ETA: elapsed * (total - done) / done, from one second on") {
  CHECK_FALSE(llmc::log::progress_eta(state("x", 1, 10, 0.99)).has_value());
  CHECK(*llmc::log::progress_eta(state("x", 1, 10, 1.0)) == doctest::Approx(9.0));
  CHECK(*llmc::log::progress_eta(state("x", 250, 1000, 30.0)) == doctest::Approx(90.0));
  CHECK_FALSE(llmc::log::progress_eta(state("x", 5, 0, 30.0)).has_value());
}

TEST_CASE("durations") {
  using llmc::log::duration_text;
  CHECK(duration_text(0) == "0s");
  CHECK(duration_text(59.9) == "59s");
  CHECK(duration_text(185) == "3m05s");
  CHECK(duration_text(3720) == "1h02m");
  CHECK(duration_text(-1) == "0s");
}

TEST_CASE("progress redraws at most five times a second") {
  using llmc::log::progress_redraw_due;
  CHECK(progress_redraw_due(std::nullopt, 100.0));  // the first line at once
  CHECK_FALSE(progress_redraw_due(100.0, 100.0));
  CHECK_FALSE(progress_redraw_due(100.0, 100.19));
  CHECK(progress_redraw_due(100.0, 100.2));
  CHECK(progress_redraw_due(100.0, 130.0));
  // A thousand updates over one second draw five or six lines.
  std::optional<double> last;
  int drawn = 0;
  for (int i = 0; i < 1000; ++i) {
    const double now = 50.0 + i / 1000.0;
    if (progress_redraw_due(last, now)) {
      last = now;
      ++drawn;
    }
  }
  CHECK(drawn >= 5);
  CHECK(drawn <= 6);
}

TEST_CASE("progress shows on a TTY at info level or more, outside CI") {
  using llmc::log::Level;
  using llmc::log::progress_enabled;
  CHECK(progress_enabled(true, Level::info, nullptr));
  CHECK(progress_enabled(true, Level::debug, nullptr));
  CHECK_FALSE(progress_enabled(false, Level::info, nullptr));  // redirected
  CHECK_FALSE(progress_enabled(true, Level::quiet, nullptr));  // -q
  CHECK_FALSE(progress_enabled(true, Level::info, "true"));    // CI=true
  CHECK_FALSE(progress_enabled(true, Level::info, "1"));
  CHECK(progress_enabled(true, Level::info, ""));
  CHECK(progress_enabled(true, Level::info, "0"));
  CHECK(progress_enabled(true, Level::info, "false"));
}

TEST_CASE("a progress line fits the terminal's width") {
  using llmc::log::fit_progress_line;
  CHECK(fit_progress_line("abcdef", 0) == "abcdef");  // width unknown
  CHECK(fit_progress_line("abcdef", 7) == "abcdef");
  CHECK(fit_progress_line("abcdef", 6) == "abcde");  // one column stays free
  CHECK(fit_progress_line("abcdef", 3) == "ab");
  // Never inside a UTF-8 character: "é" is two bytes.
  CHECK(fit_progress_line("aé" + std::string(10, 'b'), 3) == "a");
}
