#include "tools/service_notifier.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include <caf/all.hpp>

#ifdef TANDEM_HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "actors/atoms.hpp"
#include "actors/log.hpp"

namespace tandem {

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::optional<std::string>{v} : std::nullopt;
}

std::chrono::milliseconds now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch());
}

// Answers probe id N by asking the supervisor for its status; once answered (on a scheduler
// thread), raises *answered to N.
caf::actor spawn_prober(caf::actor_system& sys, supervisor_actor root, std::atomic<std::uint64_t>* answered) {
  return sys.spawn([root, answered](caf::event_based_actor* self) -> caf::behavior {
    return {[=](std::uint64_t id) {
      self->request(root, caf::infinite, atoms::status::value)
        .then(
          [=](const std::string&) {
            auto cur = answered->load();
            while (id > cur && !answered->compare_exchange_weak(cur, id)) {
            }
          },
          [](caf::error&) {});
    }};
  });
}

} // namespace

service_notifier::service_notifier(const std::string& starting) {
  std::string problems;
  plan_ = logic::service_notify::from_env(
    {env("NOTIFY_SOCKET"), env("WATCHDOG_USEC"), env("WATCHDOG_PID"), static_cast<long>(::getpid())}, &problems);
  if (!problems.empty())
    log::warn("notify", problems);
#ifndef TANDEM_HAVE_LIBSYSTEMD
  if (plan_.enabled())
    log::warn("notify", "NOTIFY_SOCKET is set but tandemd was built without libsystemd: not notifying");
#endif
  if (auto i = plan_.ping_interval())
    log::info("notify", "watchdog on: pinging every ", i->count(), " ms while the actor system answers");
  if (!starting.empty())
    status(starting);
}

service_notifier::~service_notifier() { stop(); }

void service_notifier::send(const std::string& message) {
#ifdef TANDEM_HAVE_LIBSYSTEMD
  if (int rc = sd_notify(0, message.c_str()); rc < 0)
    log::warn("notify", "sd_notify failed: ", std::strerror(-rc));
#else
  (void)message;
#endif
}

void service_notifier::status(const std::string& text) {
  if (plan_.enabled())
    send("STATUS=" + text);
}

void service_notifier::start(caf::actor_system& sys, const supervisor_actor& root, std::string ready_status) {
  if (!plan_.enabled())
    return;
  ready_status_ = std::move(ready_status);
  prober_ = spawn_prober(sys, root, &answered_);
  thread_ = std::thread([this] { run(); });
}

void service_notifier::start(caf::actor_system& sys, const supervisor_actor& root, const node_info& info) {
  start(sys, root,
        "running: node " + info.config.name + ", replication port " + std::to_string(info.replication_port)
          + ", client port " + std::to_string(info.client_port) + ", admin port " + std::to_string(info.admin_port));
}

void service_notifier::run() {
  std::unique_lock lock{mx_};
  while (!stop_) {
    auto step = plan_.on_tick(now_ms(), answered_.load(), ready_status_);
    if (!step.message.empty())
      send(step.message);
    if (!step.warning.empty())
      log::warn("notify", step.warning);
    if (step.send_probe != 0)
      caf::anon_send(prober_, step.send_probe);
    if (!step.next_tick)
      return;
    cv_.wait_for(lock, *step.next_tick, [this] { return stop_; });
  }
}

void service_notifier::stop() {
  {
    std::lock_guard guard{mx_};
    if (stop_)
      return;
    stop_ = true;
    if (auto message = plan_.stopping(); !message.empty())
      send(message);
  }
  cv_.notify_all();
  if (thread_.joinable())
    thread_.join();
  if (prober_)
    caf::anon_send_exit(prober_, caf::exit_reason::user_shutdown);
  prober_ = nullptr;
}

} // namespace tandem
