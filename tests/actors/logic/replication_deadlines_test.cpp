// actors/logic/connection_deadlines.hpp: replication_deadlines, the deadlines of one replication
// connection (connect_timeout to the peer's hello, registration, heartbeats, the silence rule).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "actors/logic/connection_deadlines.hpp"

using namespace tandem::logic;
using std::chrono::milliseconds;
using verdict = replication_deadlines::verdict;

namespace {

// connect 1000, handshake 5000, heartbeat 1000, silence 10000 (the defaults but connect_timeout,
// as in the black-hole test).
const replication_timeouts timeouts{milliseconds{1000}, milliseconds{5000}, milliseconds{1000}, milliseconds{10000}};

enum class event { received, hello, established, check };

struct step {
  event what;
  long long at_ms;
  verdict expect = verdict::wait; // for check
  long long next_ms = 0;          // for check (not for close)
};

struct scenario {
  const char* name;
  bool outbound;
  std::vector<step> steps;
};

// The connection starts at 0 in every scenario.
const std::vector<scenario> scenarios = {
  {"outbound: no hello by connect_timeout closes at connect_timeout, not connect + handshake",
   true,
   {{event::check, 0, verdict::wait, 1000}, {event::check, 999, verdict::wait, 1000}, {event::check, 1000, verdict::close}}},
  {"inbound: no hello by handshake_timeout closes then",
   false,
   {{event::check, 0, verdict::wait, 5000}, {event::check, 4999, verdict::wait, 5000}, {event::check, 5000, verdict::close}}},
  {"bytes that are not a hello do not extend the connect deadline",
   true,
   {{event::received, 500}, {event::check, 999, verdict::wait, 1000}, {event::check, 1000, verdict::close}}},
  {"outbound: the hello at 900 ends connect_timeout; registration gets the handshake timeout from it",
   true,
   {{event::hello, 900}, {event::check, 1000, verdict::wait, 5900}, {event::check, 5900, verdict::close}}},
  {"established: a heartbeat every interval while the peer talks",
   true,
   {{event::hello, 10},
    {event::established, 20},
    {event::check, 1019, verdict::wait, 1020},
    {event::received, 1000},
    {event::check, 1020, verdict::send_heartbeat, 2020},
    {event::received, 2000},
    {event::check, 2020, verdict::send_heartbeat, 3020}}},
  {"black hole: closed exactly silence_timeout after the last bytes, between heartbeat ticks",
   true,
   {{event::hello, 0},
    {event::established, 0},
    {event::received, 2300},
    {event::check, 11000, verdict::send_heartbeat, 12000},
    {event::check, 12000, verdict::send_heartbeat, 12300},
    {event::check, 12299, verdict::wait, 12300},
    {event::check, 12300, verdict::close}}},
  {"silence counts from establishment when the peer said nothing since its hello",
   false,
   {{event::hello, 100}, {event::established, 4000}, {event::check, 13999, verdict::send_heartbeat, 14000},
    {event::check, 14000, verdict::close}}},
  {"a late timer sends one heartbeat, not one per missed interval",
   true,
   {{event::hello, 0}, {event::established, 0}, {event::received, 4500}, {event::check, 4600, verdict::send_heartbeat, 5600},
    {event::check, 4700, verdict::wait, 5600}}},
};

} // namespace

TEST_CASE("replication_deadlines table: connect and registration deadlines with heartbeats and the silence rule") {
  for (const auto& sc : scenarios) {
    CAPTURE(sc.name);
    replication_deadlines d{timeouts, sc.outbound, milliseconds{0}};
    for (const auto& s : sc.steps) {
      CAPTURE(s.at_ms);
      const milliseconds now{s.at_ms};
      switch (s.what) {
      case event::received: d.on_received(now); break;
      case event::hello: d.on_hello(now); break;
      case event::established: d.on_established(now); break;
      case event::check: {
        auto got = d.check(now);
        CHECK(got.what == s.expect);
        if (s.expect != verdict::close)
          CHECK(got.next == milliseconds{s.next_ms});
        else
          CHECK_FALSE(got.reason.empty());
        break;
      }
      }
    }
  }
}

// Issue 17 part 6: an outbound connection to a black-holed server used to get connect_timeout +
// handshake_timeout (1 s + 5 s = 6 s) before the cycler tried the next address.
TEST_CASE("black-holed server at startup: the attempt fails at connect_timeout and not at connect + handshake timeout") {
  replication_deadlines d{timeouts, true, milliseconds{0}};
  auto first = d.check(milliseconds{0});
  CHECK(first.next == timeouts.connect_timeout);
  auto late = d.check(first.next);
  REQUIRE(late.what == verdict::close);
  CHECK(late.reason == "no hello within the connect timeout (1000 ms left of connect_timeout_ms)");
}

// Issue 17 part 6: the silence check ran only at heartbeat ticks with `silent > timeout`, so a
// black hole was noticed up to one heartbeat interval late (10.9 s measured for a 10 s rule).
TEST_CASE("black hole mid-stream: the timer is armed at the silence deadline and closes at exactly silence_timeout") {
  replication_deadlines d{timeouts, true, milliseconds{0}};
  d.on_hello(milliseconds{5});
  d.on_established(milliseconds{5});
  d.on_received(milliseconds{7450}); // the last bytes before the black hole
  milliseconds now{7450};
  int heartbeats = 0;
  replication_deadlines::decision last;
  for (int i = 0; i < 100; ++i) { // follow the timer as the broker would
    last = d.check(now);
    if (last.what == verdict::close)
      break;
    heartbeats += last.what == verdict::send_heartbeat;
    REQUIRE(last.next > now);
    now = last.next;
  }
  REQUIRE(last.what == verdict::close);
  CHECK(now == milliseconds{17450});
  CHECK(heartbeats == 10); // 7450, 8450 ... 16450: we keep talking while we wait
  CHECK(last.reason == "nothing received for 10000 ms (silence timeout 10000 ms)");
}
