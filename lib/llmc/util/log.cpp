#include "llmc/util/log.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "llmc/util/progress.h"

namespace llmc::log {

namespace {
Level g_level = Level::info;
bool g_progress_pending = false;

// The terminal's width, or 0 when it cannot be told.
int stderr_columns() {
  winsize w{};
  return ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 ? w.ws_col : 0;
}

bool use_color() {
  const char* no_color = std::getenv("NO_COLOR");
  return stderr_is_tty() && (no_color == nullptr || *no_color == '\0');
}

void emit(const char* tag, const char* color, const std::string& message) {
  progress_done();
  if (use_color()) {
    std::fprintf(stderr, "%s%s\033[0m %s\n", color, tag, message.c_str());
  } else {
    std::fprintf(stderr, "%s %s\n", tag, message.c_str());
  }
}
}  // namespace

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }
bool stderr_is_tty() { return isatty(STDERR_FILENO) == 1; }

void info(const std::string& message) {
  if (g_level >= Level::info) emit("llmc:", "\033[1m", message);
}

// Warnings show even with -q: they say something about the result.
void warn(const std::string& message) { emit("llmc: warning:", "\033[1;33m", message); }

void debug(const std::string& message) {
  if (g_level >= Level::debug) emit("llmc: debug:", "\033[2m", message);
}

void progress(const std::string& message) {
  if (!progress_enabled()) return;
  std::fprintf(stderr, "\r\033[K%s", fit_progress_line(message, stderr_columns()).c_str());
  std::fflush(stderr);
  g_progress_pending = true;
}

void progress_done() {
  if (!g_progress_pending) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  g_progress_pending = false;
}

}  // namespace llmc::log
