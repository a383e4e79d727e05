// The one logger: levels, -q/-v, stderr only (the library never writes to stdout), colour only
// on a TTY and never with NO_COLOR. Progress lines are shown only on a TTY, and not with -q or in
// CI (util/progress.h).
#pragma once

#include <string>

#include <fmt/format.h>

namespace llmc::log {

enum class Level { quiet = 0, info = 1, debug = 2 };

void set_level(Level level);
Level level();
bool stderr_is_tty();

void info(const std::string& message);
void warn(const std::string& message);
void debug(const std::string& message);
// A transient progress line (rewritten in place, cut to the terminal's width); shown only where
// progress_enabled() (util/progress.h). Long steps use log::Progress, which formats and paces it.
void progress(const std::string& message);
// Clears a pending progress line.
void progress_done();

template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  info(fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  warn(fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  debug(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace llmc::log
