// tandemd's notifier (tools/service_notifier.hpp) over a real actor system, against a fake
// supervisor whose status handler can be made to hang its scheduler thread: a stuck actor
// system must stop the WATCHDOG=1 pings (systemd then restarts the node), and the pings resume
// when it answers again. The fake service manager is a datagram socket the test reads.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

#include <caf/all.hpp>
#include <doctest/doctest.h>

#include "tests/support/process.hpp"
#include "tests/tools/fake_notify_socket.hpp"
#include "tools/service_notifier.hpp"

using namespace tandem::test;
using namespace std::chrono_literals;

namespace {

// A supervisor that answers status requests, except while *stuck: then its handler holds the
// scheduler thread it runs on (on purpose: that is the stuck actor system this test is about).
tandem::supervisor_actor::behavior_type fake_supervisor(tandem::supervisor_actor::pointer, std::atomic<bool>* stuck) {
  using namespace tandem;
  return {
    [=](atoms::status) -> std::string {
      while (stuck->load())
        std::this_thread::sleep_for(5ms);
      return "{}";
    },
    [](atoms::metrics_text) -> std::string { return {}; },
    [](atoms::conn_hello, const std::string&, const std::string&, const std::string&, conn_direction,
       const replication_connection_actor&, const std::string&)
      -> caf::result<bool, destination_link_actor, std::string, bool> {
      return {false, destination_link_actor{}, std::string{}, false};
    },
    [](atoms::conn_down, const std::string&, const replication_connection_actor&, conn_direction,
       const std::string&) {},
    [](atoms::config_reload) -> std::string { return "{}"; },
  };
}

// The service manager's environment for one test (sd_notify reads NOTIFY_SOCKET at every call).
struct notify_env_guard {
  notify_env_guard(const std::string& socket, const std::string& watchdog_usec) {
    ::setenv("NOTIFY_SOCKET", socket.c_str(), 1);
    ::setenv("WATCHDOG_USEC", watchdog_usec.c_str(), 1);
  }
  ~notify_env_guard() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
  }
};

// Ends the fake supervisor before the actor system waits for it (also when a REQUIRE fails).
struct exit_on_scope_end {
  caf::actor_addr who;
  ~exit_on_scope_end() { caf::anon_send_exit(who, caf::exit_reason::user_shutdown); }
};

} // namespace

TEST_CASE("watchdog: a stuck actor system stops the pings, they resume when it answers again") {
  temp_dir dir;
  fake_notify_socket notify{dir.path()};
  notify_env_guard env{notify.path(), "400000"}; // a ping every 200 ms
  std::atomic<bool> stuck{false};
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  caf::actor_system sys{cfg};
  auto root = sys.spawn(fake_supervisor, &stuck);
  exit_on_scope_end end_root{root.address()};
  tandem::service_notifier notifier; // ends (STOPPING=1, prober gone) before the actor system
  notifier.start(sys, root, "running");
  std::vector<fake_notify_socket::datagram> seen;
  REQUIRE(notify.until("READY=1", 10s, &seen));
  REQUIRE(notify.until("WATCHDOG=1", 10s, &seen));
  REQUIRE(notify.until("WATCHDOG=1", 10s, &seen));

  stuck = true;
  auto status = notify.until("STATUS=stuck", 10s, &seen);
  REQUIRE(status);
  CHECK(status->text.find("WATCHDOG=1") == std::string::npos);
  // Five ping intervals without a ping while the supervisor cannot answer.
  std::vector<fake_notify_socket::datagram> while_stuck;
  CHECK_FALSE(notify.until("WATCHDOG=1", 1s, &while_stuck));

  stuck = false;
  auto back = notify.until("WATCHDOG=1", 10s, &seen);
  REQUIRE(back);
  CHECK(back->text.find("STATUS=running") != std::string::npos);
  notifier.stop();
  CHECK(notify.until("STOPPING=1", 10s, &seen));
}
