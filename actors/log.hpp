// Tandem's log: one line per event on stderr, "2026-11-22T04:30:00.123Z INFO  component: text".
//
// Contract: each line is written with a single write(2) so lines from different threads never
// interleave; logging never throws and never blocks on anything but that write.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace tandem::log {

enum class level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(level l);
level current_level();
std::optional<level> parse_level(std::string_view name); // "error", "warn", "info", "debug"
bool enabled(level l);
void write(level l, std::string_view component, std::string_view text);

// Formats its arguments with operator<< only when the level is enabled.
template <class... Ts>
void emit(level l, std::string_view component, const Ts&... xs) {
  if (!enabled(l))
    return;
  std::ostringstream os;
  (os << ... << xs);
  write(l, component, os.str());
}

template <class... Ts>
void error(std::string_view c, const Ts&... xs) { emit(level::error, c, xs...); }
template <class... Ts>
void warn(std::string_view c, const Ts&... xs) { emit(level::warn, c, xs...); }
template <class... Ts>
void info(std::string_view c, const Ts&... xs) { emit(level::info, c, xs...); }
template <class... Ts>
void debug(std::string_view c, const Ts&... xs) { emit(level::debug, c, xs...); }

} // namespace tandem::log
