// Why Tandem's brokers never ask with a timeout (request(..., caf::infinite, ...) everywhere in
// admin_server.cpp and replication_connection.cpp; their deadlines are relay timers,
// timer_relay.hpp). In CAF 0.17.6 a request timeout reaches the requester as a message whose
// sender is the requester itself, and CAF never cancels it when the response comes. A broker's
// cleanup (abstract_broker::cleanup) does not drain its mailbox, so a broker that quits with such a
// message still queued holds a strong reference to itself and is never destroyed. This test shows
// the hazard with a plain broker, and that the same broker asking with caf::infinite is destroyed.
// Found by LeakSanitizer at tandemd's exit (the admin server, polled by a test every 20 ms, and a
// replication connection closed by the silence rule 10 s after its registration requests).
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

using namespace std::chrono_literals;

namespace {

using go_atom = caf::atom_constant<caf::atom("go")>;

// Asks `silent` (which never answers) with `timeout`, then keeps its thread until the timeout's
// message must have been queued, then quits with it still in the mailbox.
caf::behavior asker(caf::io::broker* self, caf::actor silent, bool with_timeout) {
  return {
    [=](go_atom) {
      if (with_timeout)
        self->request(silent, std::chrono::milliseconds{1}, go_atom::value).then([](go_atom) {}, [](caf::error&) {});
      else
        self->request(silent, caf::infinite, go_atom::value).then([](go_atom) {}, [](caf::error&) {});
      std::this_thread::sleep_for(100ms); // the clock ships the 1 ms timeout meanwhile
      self->quit();
    },
  };
}

// True when the broker is destroyed (no strong reference left) within the deadline.
bool destroyed(const caf::actor_addr& addr) {
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!caf::actor_cast<caf::actor>(addr))
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

caf::actor_addr run_asker(caf::actor_system& sys, const caf::actor& silent, bool with_timeout) {
  auto b = sys.middleman().spawn_broker(asker, silent, with_timeout);
  caf::anon_send(b, go_atom::value);
  return b.address();
}

} // namespace

TEST_CASE("CAF 0.17: a broker that quits with its own request timeout queued is never destroyed; with caf::infinite it is") {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto silent = sys.spawn([](caf::event_based_actor*) -> caf::behavior {
    return {[](go_atom) -> caf::result<go_atom> { return caf::delegated<go_atom>{}; }};
  });
  const auto with_infinite = run_asker(sys, silent, false);
  CHECK(destroyed(with_infinite));
  const auto with_timeout = run_asker(sys, silent, true);
  // The hazard, as CAF 0.17.6 has it: the broker holds itself (the timeout message's sender).
  CHECK_FALSE(destroyed(with_timeout));
#if defined(__SANITIZE_ADDRESS__)
  // The broker this test leaks on purpose, and what it holds, are not LeakSanitizer's finding.
  if (auto leaked = caf::actor_cast<caf::actor>(with_timeout))
    __lsan_ignore_object(caf::actor_cast<caf::actor_control_block*>(leaked));
#endif
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
}
