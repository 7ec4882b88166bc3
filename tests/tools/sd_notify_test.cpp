// tandemd under systemd's notify protocol, with a fake service manager: the test binds the
// NOTIFY_SOCKET datagram socket itself and reads what a real tandemd sends (READY=1 after the
// admin port answers, STATUS= lines, WATCHDOG=1 at about half WATCHDOG_USEC, STOPPING=1 at
// SIGTERM). Also the SIGHUP regression: it used to end the node silently (exit 129); now it
// reloads the config (reload_test has the reload itself).
#include <chrono>
#include <csignal>
#include <cstdlib>

#include <doctest/doctest.h>

#include "tests/tools/fake_notify_socket.hpp"
#include "tests/tools/node_fixture.hpp"

using namespace tandem::test;

namespace {

// A tandemd started with NOTIFY_SOCKET (and WATCHDOG_USEC when given) in its environment.
struct notified_node {
  temp_dir dir;
  fake_notify_socket notify{dir.path()};
  node_ports ports;
  std::unique_ptr<child_process> proc;

  explicit notified_node(const std::string& watchdog_usec = "") {
    ::setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);
    if (!watchdog_usec.empty())
      ::setenv("WATCHDOG_USEC", watchdog_usec.c_str(), 1);
    proc = std::make_unique<child_process>(tandemd_args(ports, {"--set", "data_dir=" + dir / "data"}), dir.path(),
                                           dir.path());
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
  }
};

} // namespace

TEST_CASE("sd_notify: READY=1 arrives once the admin port answers, STOPPING=1 at SIGTERM") {
  notified_node node;
  std::vector<fake_notify_socket::datagram> seen;
  auto ready = node.notify.until("READY=1", 30s, &seen);
  REQUIRE_MESSAGE(ready, "no READY=1; stderr: " << node.proc->stderr_text());
  // Announced only once the node serves: the admin port answers at the moment READY=1 is read.
  auto health = admin_get(node.ports.admin, "/healthz");
  CHECK(health.ok);
  CHECK(health.status == 200);
  CHECK(contains(seen, "STATUS=recovering the journal"));
  CHECK(ready->text.find("STATUS=running: node ") != std::string::npos);
  CHECK(ready->text.find("admin port " + std::to_string(node.ports.admin)) != std::string::npos);
  CHECK_FALSE(contains(seen, "WATCHDOG=1")); // no WATCHDOG_USEC: no pings

  node.proc->signal(SIGTERM);
  auto stopping = node.notify.until("STOPPING=1", 15s, &seen);
  CHECK(stopping);
  CHECK(node.proc->wait_exit(15s) == 0);
}

TEST_CASE("sd_notify: WATCHDOG=1 arrives repeatedly at about half WATCHDOG_USEC") {
  constexpr auto watchdog = std::chrono::milliseconds{600}; // pings expected every 300 ms
  notified_node node{std::to_string(std::chrono::microseconds{watchdog}.count())};
  std::vector<fake_notify_socket::datagram> seen;
  REQUIRE_MESSAGE(node.notify.until("READY=1", 30s, &seen), "no READY=1; stderr: " << node.proc->stderr_text());
  std::vector<steady::time_point> pings;
  while (pings.size() < 8) {
    auto d = node.notify.until("WATCHDOG=1", 10s, &seen);
    REQUIRE_MESSAGE(d, "only " << pings.size() << " WATCHDOG=1 after READY=1");
    pings.push_back(d->at);
  }
  auto mean = std::chrono::duration_cast<std::chrono::milliseconds>(pings.back() - pings.front()) / (pings.size() - 1);
  MESSAGE("mean interval between pings: " << mean.count() << " ms");
  // Half of 600 ms; a loaded machine may delay a tick, never speed one up (a ping every 150 ms
  // would mean the interval is wrong, one every 600 ms that systemd would kill the node).
  CHECK(mean >= std::chrono::milliseconds{270});
  CHECK(mean < watchdog);
  CHECK(node.proc->stderr_text().find("watchdog on: pinging every 300 ms") != std::string::npos);

  node.proc->signal(SIGTERM);
  CHECK(node.notify.until("STOPPING=1", 15s, &seen));
  CHECK(node.proc->wait_exit(15s) == 0);
}

TEST_CASE("sd_notify: a WATCHDOG_USEC that is not a number is refused, logged, and the node runs") {
  notified_node node{"30s"};
  std::vector<fake_notify_socket::datagram> seen;
  REQUIRE(node.notify.until("READY=1", 30s, &seen));
  CHECK(node.proc->stderr_text().find("WATCHDOG_USEC '30s' is not a count of microseconds") != std::string::npos);
  CHECK_FALSE(node.notify.until("WATCHDOG=1", 1s, &seen)); // watchdog off: nothing in a second
  CHECK(node.proc->terminate("tandemd") == 0);
}

TEST_CASE("SIGHUP killed the node silently: now it reloads the config, and the node keeps running") {
  temp_dir dir;
  node_ports ports;
  child_process node{tandemd_args(ports, {"--set", "data_dir=" + dir / "data"}), dir.path(), dir.path()};
  REQUIRE(wait_until_up(node, ports.admin));
  node.signal(SIGHUP);
  CHECK(wait_until([&] { return node.stderr_text().find("received SIGHUP: reloading the config") != std::string::npos; }, 10s));
  // The embedded default, read again with the same overrides: nothing changed (docs/config.md, "Live reload").
  CHECK(wait_until([&] { return node.stderr_text().find("config reload: the config is unchanged") != std::string::npos; }, 10s));
  CHECK(node.running());
  auto health = admin_get(ports.admin, "/healthz");
  CHECK(health.status == 200);
  CHECK(node.terminate("tandemd") == 0);
}
