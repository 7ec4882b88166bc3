// What tandemd tells its service manager over systemd's notify protocol (sd_notify(3)), decided
// without sockets, threads or clocks: tools/service_notifier.cpp carries out what it says.
//
//   not ready --first probe answered--> ready ("READY=1", "STATUS=...")
//   ready: every ping interval (half of WATCHDOG_USEC), "WATCHDOG=1" if the previous probe was
//          answered; if not, no ping (systemd's watchdog then fires), one "STATUS=" line and one
//          warning saying for how long the actor system has not answered
//   stopping ("STOPPING=1"): nothing more is sent
//
// A probe is a request the notifier sends through the actor system (the supervisor's status,
// answered on a scheduler thread): a stuck actor system stops answering, so the pings stop.
// The environment is checked here like any outside input: NOTIFY_SOCKET must be an absolute or
// abstract socket path that fits sockaddr_un; WATCHDOG_USEC a decimal count of microseconds in
// [min_watchdog, max_watchdog]; WATCHDOG_PID, when set, this process's pid (else the watchdog is
// meant for another process and stays off).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace tandem::logic {

// The service manager's environment variables, as read (nullopt: unset).
struct notify_env {
  std::optional<std::string> notify_socket, watchdog_usec, watchdog_pid;
  long self_pid = 0;
};

class service_notify {
public:
  using ms = std::chrono::milliseconds;
  static constexpr std::chrono::microseconds min_watchdog{20'000};          // 20 ms
  static constexpr std::chrono::microseconds max_watchdog{86'400'000'000};  // one day
  static constexpr std::size_t max_socket_path = 107;                        // sockaddr_un, minus NUL
  static constexpr ms ready_poll{50};      // tick interval before ready
  static constexpr ms ready_reprobe{1000}; // an unanswered readiness probe is sent again after this

  // Decides from the environment; a variable that fails its check is ignored with a reason in
  // *problems (one line each; empty when all is well).
  static service_notify from_env(const notify_env& env, std::string* problems);

  bool enabled() const { return enabled_; }
  // Half of WATCHDOG_USEC (systemd's advice), when the watchdog is on.
  std::optional<ms> ping_interval() const { return interval_; }
  bool ready() const { return ready_; }

  // What one tick of the notifier's timer does.
  struct step {
    std::string message;            // datagram to send ("" = none); lines "KEY=VALUE" joined by '\n'
    std::uint64_t send_probe = 0;   // the id of a probe to send now (0 = none)
    std::string warning;            // a line to log at warn level ("" = none)
    std::optional<ms> next_tick;    // when to tick again, relative to now (nullopt: no more ticks)
  };
  // `now`: any steady time base; `answered`: the highest probe id answered so far (0: none).
  // `status`: the STATUS= text to announce when ready (one line).
  step on_tick(ms now, std::uint64_t answered, const std::string& status);
  // At shutdown: the datagram to send ("" when disabled); every later tick does nothing.
  std::string stopping();

private:
  step tick_before_ready(ms now, std::uint64_t answered, const std::string& status);
  step tick_watchdog(ms now, std::uint64_t answered, const std::string& status);
  std::uint64_t new_probe(ms now);

  bool enabled_ = false;
  bool ready_ = false;
  bool stopping_ = false;
  std::optional<ms> interval_;
  std::uint64_t sent_ = 0;       // last probe id sent
  ms sent_at_{0};                // when it was sent
  bool stuck_reported_ = false;  // the current silence was already announced
};

} // namespace tandem::logic
