#include "actors/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace tandem::log {

namespace {

std::atomic<int> g_level{static_cast<int>(level::info)};

const char* level_name(level l) {
  switch (l) {
    case level::error: return "ERROR";
    case level::warn: return "WARN ";
    case level::info: return "INFO ";
    case level::debug: return "DEBUG";
  }
  return "?    ";
}

} // namespace

void set_level(level l) { g_level.store(static_cast<int>(l), std::memory_order_relaxed); }

level current_level() { return static_cast<level>(g_level.load(std::memory_order_relaxed)); }

std::optional<level> parse_level(std::string_view name) {
  if (name == "error") return level::error;
  if (name == "warn" || name == "warning") return level::warn;
  if (name == "info") return level::info;
  if (name == "debug") return level::debug;
  return std::nullopt;
}

bool enabled(level l) { return static_cast<int>(l) <= g_level.load(std::memory_order_relaxed); }

void write(level l, std::string_view component, std::string_view text) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  std::string line;
  line.reserve(64 + component.size() + text.size());
  line += stamp;
  line += level_name(l);
  line += ' ';
  line += component;
  line += ": ";
  // One event, one line: newlines inside the text would split it.
  for (char c : text)
    line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  const char* p = line.data();
  auto left = line.size();
  while (left > 0) {
    auto n = ::write(STDERR_FILENO, p, left);
    if (n <= 0)
      return; // stderr gone: nothing sensible to do, and logging must not fail the caller
    p += n;
    left -= static_cast<size_t>(n);
  }
}

} // namespace tandem::log
