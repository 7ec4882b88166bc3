// The sd_notify decisions (actors/logic/service_notify.hpp): environment checks, readiness,
// watchdog pings at half WATCHDOG_USEC that stop while probes go unanswered, stopping.
#include <doctest/doctest.h>

#include "actors/logic/service_notify.hpp"

using tandem::logic::notify_env;
using tandem::logic::service_notify;
using ms = std::chrono::milliseconds;

namespace {

service_notify make(std::optional<std::string> sock, std::optional<std::string> usec = std::nullopt,
                    std::optional<std::string> pid = std::nullopt, std::string* problems = nullptr) {
  std::string p;
  auto n = service_notify::from_env(notify_env{std::move(sock), std::move(usec), std::move(pid), 42}, &p);
  if (problems)
    *problems = p;
  return n;
}

// Drives a notifier to ready with a watchdog of 2 s (ping every 1 s); returns the last probe id.
std::uint64_t make_ready(service_notify& n) {
  auto s = n.on_tick(ms{0}, 0, "running");
  REQUIRE(s.send_probe == 1);
  s = n.on_tick(ms{50}, 1, "running");
  REQUIRE(n.ready());
  return s.send_probe;
}

} // namespace

TEST_CASE("service_notify: the environment decides what is sent, hostile values are refused") {
  struct row {
    const char* what;
    std::optional<std::string> sock, usec, pid;
    bool enabled;
    std::optional<long> interval_ms;
    bool problem;
  };
  const std::string long_path = "/" + std::string(service_notify::max_socket_path - 1, 'x');
  const row rows[] = {
    {"no NOTIFY_SOCKET", std::nullopt, "2000000", std::nullopt, false, std::nullopt, false},
    {"socket only", "/run/systemd/notify", std::nullopt, std::nullopt, true, std::nullopt, false},
    {"abstract socket", "@notify", std::nullopt, std::nullopt, true, std::nullopt, false},
    {"relative path", "notify", std::nullopt, std::nullopt, false, std::nullopt, true},
    {"empty path", "", std::nullopt, std::nullopt, false, std::nullopt, true},
    {"path at the limit", long_path, std::nullopt, std::nullopt, true, std::nullopt, false},
    {"path at limit+1", long_path + "x", std::nullopt, std::nullopt, false, std::nullopt, true},
    {"watchdog 2 s: ping every 1 s", "/s", "2000000", std::nullopt, true, 1000, false},
    {"watchdog for this pid", "/s", "2000000", "42", true, 1000, false},
    {"watchdog for another pid", "/s", "2000000", "43", true, std::nullopt, false},
    {"bad WATCHDOG_PID", "/s", "2000000", "4x", true, std::nullopt, true},
    {"watchdog at the minimum", "/s", "20000", std::nullopt, true, 10, false},
    {"watchdog below the minimum", "/s", "19999", std::nullopt, true, std::nullopt, true},
    {"watchdog at the maximum", "/s", "86400000000", std::nullopt, true, 43'200'000, false},
    {"watchdog above the maximum", "/s", "86400000001", std::nullopt, true, std::nullopt, true},
    {"watchdog not a number", "/s", "2s", std::nullopt, true, std::nullopt, true},
    {"watchdog negative", "/s", "-5", std::nullopt, true, std::nullopt, true},
    {"watchdog overflowing", "/s", "99999999999999999999999", std::nullopt, true, std::nullopt, true},
  };
  for (const auto& r : rows) {
    CAPTURE(r.what);
    std::string problems;
    auto n = make(r.sock, r.usec, r.pid, &problems);
    CHECK(n.enabled() == r.enabled);
    CHECK(n.ping_interval().has_value() == r.interval_ms.has_value());
    if (r.interval_ms && n.ping_interval())
      CHECK(n.ping_interval()->count() == *r.interval_ms);
    CHECK(problems.empty() == !r.problem);
  }
}

TEST_CASE("service_notify: disabled sends nothing at all") {
  auto n = make(std::nullopt);
  auto s = n.on_tick(ms{0}, 0, "running");
  CHECK(s.message.empty());
  CHECK(s.send_probe == 0);
  CHECK_FALSE(s.next_tick);
  CHECK(n.stopping().empty());
}

TEST_CASE("service_notify: READY=1 only once a probe through the actor system is answered") {
  auto n = make("/s");
  auto s = n.on_tick(ms{0}, 0, "running");
  CHECK(s.message.empty());
  CHECK(s.send_probe == 1);
  CHECK(s.next_tick == service_notify::ready_poll);
  s = n.on_tick(ms{50}, 0, "running"); // unanswered: wait, no second probe yet
  CHECK(s.message.empty());
  CHECK(s.send_probe == 0);
  s = n.on_tick(service_notify::ready_reprobe, 0, "running"); // still nothing after 1 s: probe again
  CHECK(s.send_probe == 2);
  s = n.on_tick(ms{1100}, 1, "running"); // the stale answer does not count
  CHECK_FALSE(n.ready());
  s = n.on_tick(ms{1150}, 2, "node a running");
  CHECK(n.ready());
  CHECK(s.message == "READY=1\nSTATUS=node a running");
  CHECK_FALSE(s.next_tick); // no watchdog: nothing more to do
  CHECK(n.on_tick(ms{2000}, 2, "x").message.empty());
}

TEST_CASE("service_notify: WATCHDOG=1 every interval while probes are answered, none while stuck") {
  auto n = make("/s", "2000000");
  auto s = n.on_tick(ms{0}, 0, "running");
  s = n.on_tick(ms{50}, 1, "running");
  CHECK(s.message == "READY=1\nSTATUS=running\nWATCHDOG=1");
  CHECK(s.next_tick == ms{1000});
  auto probe = s.send_probe;
  CHECK(probe == 2);
  struct row {
    long now;
    bool answered;
    std::string message;
    bool new_probe, warning;
  };
  const row rows[] = {
    {1050, true, "WATCHDOG=1", true, false},
    {2050, true, "WATCHDOG=1", true, false},
    {3050, false, "STATUS=stuck: the actor system has not answered the watchdog probe for 1000 ms", false, true},
    {4050, false, "", false, false}, // still stuck: silent, no ping, no repeated warning
    {5050, true, "WATCHDOG=1\nSTATUS=running", true, false},
    {6050, true, "WATCHDOG=1", true, false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.now);
    s = n.on_tick(ms{r.now}, r.answered ? probe : probe - 1, "running");
    CHECK(s.message == r.message);
    CHECK((s.send_probe != 0) == r.new_probe);
    CHECK(s.warning.empty() == !r.warning);
    CHECK(s.next_tick == ms{1000});
    if (s.send_probe)
      probe = s.send_probe;
  }
}

TEST_CASE("service_notify: STOPPING=1 once, then nothing more") {
  auto n = make("/s", "2000000");
  auto probe = make_ready(n);
  CHECK(n.stopping() == "STOPPING=1\nSTATUS=stopping");
  CHECK(n.stopping().empty());
  auto s = n.on_tick(ms{2000}, probe, "running");
  CHECK(s.message.empty());
  CHECK(s.send_probe == 0);
  CHECK_FALSE(s.next_tick);
}
