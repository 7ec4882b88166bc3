// tandemd's side of systemd's notify protocol (sd_notify(3)); the decisions are
// logic::service_notify (actors/logic/service_notify.hpp), this carries them out.
//
// Only when NOTIFY_SOCKET is set (a unit with Type=notify). A timer thread of its own (never a
// CAF scheduler thread) ticks the plan; each probe is a status request to the supervisor sent by a
// small prober actor and answered on a scheduler thread, so READY=1 waits until the supervisor has
// started every listener, and a stuck actor system stops the WATCHDOG=1 pings. Built without
// libsystemd (TANDEM_HAVE_LIBSYSTEMD unset), it logs once that it cannot notify and does nothing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/logic/service_notify.hpp"
#include "actors/node_info.hpp"
#include "actors/replication_messages.hpp"

namespace tandem {

class service_notifier {
public:
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID; logs a value it refuses. Sends
  // "STATUS=<starting>" when not empty.
  explicit service_notifier(const std::string& starting = {});
  ~service_notifier();
  service_notifier(const service_notifier&) = delete;
  service_notifier& operator=(const service_notifier&) = delete;

  // Sends "STATUS=<text>" (startup progress).
  void status(const std::string& text);
  // Starts the timer thread: probes `root`, then READY=1 with STATUS=`ready_status`, then pings.
  void start(caf::actor_system& sys, const supervisor_actor& root, std::string ready_status);
  // The same, with STATUS="running: node NAME, replication port P, client port P, admin port P".
  void start(caf::actor_system& sys, const supervisor_actor& root, const node_info& info);
  // Sends STOPPING=1 and ends the timer thread and the prober; call before stopping the supervisor.
  void stop();

private:
  void run();
  void send(const std::string& message);

  logic::service_notify plan_;
  std::mutex mx_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string ready_status_;
  std::atomic<std::uint64_t> answered_{0};
  caf::actor prober_;
  std::thread thread_;
};

} // namespace tandem
