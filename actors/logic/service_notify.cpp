#include "actors/logic/service_notify.hpp"

#include <charconv>

namespace tandem::logic {

namespace {

// A decimal number with nothing else around it; nullopt otherwise (also on overflow).
std::optional<std::uint64_t> parse_decimal(const std::string& s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return v;
}

bool socket_path_ok(const std::string& p) {
  return !p.empty() && (p[0] == '/' || p[0] == '@') && p.size() <= service_notify::max_socket_path;
}

// The watchdog interval WATCHDOG_USEC/WATCHDOG_PID ask for, or nullopt with *problem set
// (empty when the watchdog is simply not asked for).
std::optional<std::chrono::microseconds> watchdog_of(const notify_env& env, std::string* problem) {
  if (!env.watchdog_usec)
    return std::nullopt;
  if (env.watchdog_pid) {
    auto pid = parse_decimal(*env.watchdog_pid);
    if (!pid) {
      *problem = "WATCHDOG_PID '" + *env.watchdog_pid + "' is not a pid: watchdog off";
      return std::nullopt;
    }
    if (*pid != static_cast<std::uint64_t>(env.self_pid))
      return std::nullopt; // meant for another process (sd_watchdog_enabled(3))
  }
  auto usec = parse_decimal(*env.watchdog_usec);
  auto lo = static_cast<std::uint64_t>(service_notify::min_watchdog.count());
  auto hi = static_cast<std::uint64_t>(service_notify::max_watchdog.count());
  if (!usec || *usec < lo || *usec > hi) {
    *problem = "WATCHDOG_USEC '" + *env.watchdog_usec + "' is not a count of microseconds in [" + std::to_string(lo)
               + ", " + std::to_string(hi) + "]: watchdog off";
    return std::nullopt;
  }
  return std::chrono::microseconds{*usec};
}

} // namespace

service_notify service_notify::from_env(const notify_env& env, std::string* problems) {
  service_notify n;
  problems->clear();
  if (!env.notify_socket)
    return n;
  if (!socket_path_ok(*env.notify_socket)) {
    *problems = "NOTIFY_SOCKET is not an absolute or abstract socket path of at most "
                + std::to_string(max_socket_path) + " bytes: not notifying";
    return n;
  }
  n.enabled_ = true;
  if (auto wd = watchdog_of(env, problems))
    n.interval_ = std::chrono::duration_cast<ms>(*wd / 2);
  return n;
}

std::uint64_t service_notify::new_probe(ms now) {
  sent_at_ = now;
  return ++sent_;
}

service_notify::step service_notify::on_tick(ms now, std::uint64_t answered, const std::string& status) {
  if (!enabled_ || stopping_)
    return {};
  return ready_ ? tick_watchdog(now, answered, status) : tick_before_ready(now, answered, status);
}

service_notify::step service_notify::tick_before_ready(ms now, std::uint64_t answered, const std::string& status) {
  step s;
  if (sent_ > 0 && answered >= sent_) {
    ready_ = true;
    s.message = "READY=1\nSTATUS=" + status;
    if (interval_) {
      s.message += "\nWATCHDOG=1";
      s.send_probe = new_probe(now);
    }
    s.next_tick = interval_;
    return s;
  }
  if (sent_ == 0 || now - sent_at_ >= ready_reprobe)
    s.send_probe = new_probe(now);
  s.next_tick = ready_poll;
  return s;
}

service_notify::step service_notify::tick_watchdog(ms now, std::uint64_t answered, const std::string& status) {
  step s;
  s.next_tick = interval_;
  if (!interval_)
    return s;
  if (answered >= sent_) {
    s.message = "WATCHDOG=1";
    if (stuck_reported_)
      s.message += "\nSTATUS=" + status;
    stuck_reported_ = false;
    s.send_probe = new_probe(now);
    return s;
  }
  if (!stuck_reported_) {
    stuck_reported_ = true;
    auto silent = std::to_string((now - sent_at_).count());
    s.message = "STATUS=stuck: the actor system has not answered the watchdog probe for " + silent + " ms";
    s.warning = "watchdog: the actor system has not answered a probe for " + silent
                + " ms; not pinging the service manager";
  }
  return s;
}

std::string service_notify::stopping() {
  if (!enabled_ || stopping_)
    return {};
  stopping_ = true;
  return "STOPPING=1\nSTATUS=stopping";
}

} // namespace tandem::logic
