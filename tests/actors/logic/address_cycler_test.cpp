// actors/logic/address_cycler.cpp
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "actors/logic/address_cycler.hpp"

using namespace tandem::logic;
using std::chrono::milliseconds;
using time_point = address_cycler::time_point;

namespace {

// Virtual clock: the tests pick every instant.
const time_point t0{};

time_point at_ms(long long ms) { return t0 + milliseconds{ms}; }

backoff_config no_jitter(milliseconds initial = milliseconds{100},
                         milliseconds max = milliseconds{30000}, double multiplier = 2.0) {
  return backoff_config{initial, max, multiplier, 0.0};
}

std::optional<std::size_t> dialed(const address_cycler::step& s) {
  if (const auto* d = std::get_if<address_cycler::dial>(&s))
    return d->index;
  return std::nullopt;
}

std::optional<time_point> waits_until(const address_cycler::step& s) {
  if (const auto* w = std::get_if<address_cycler::wait_until>(&s))
    return w->at;
  return std::nullopt;
}

bool is_idle(const address_cycler::step& s) {
  return std::holds_alternative<address_cycler::idle>(s);
}

// Fails every address once, starting at `now` with the cycler ready at address 0; returns the
// end of the wait the failed pass produced.
time_point fail_pass(address_cycler& c, std::size_t count, time_point now) {
  for (std::size_t i = 0; i < count; ++i) {
    REQUIRE(dialed(c.next(now)) == i);
    c.on_attempt_failed(now);
  }
  const auto until = waits_until(c.next(now));
  REQUIRE(until.has_value());
  return *until;
}

} // namespace

TEST_CASE("attempts go down the list from the top, one dial per attempt") {
  address_cycler c{3, no_jitter()};
  CHECK(dialed(c.next(t0)) == 0u);
  CHECK(is_idle(c.next(t0))); // the attempt is in flight: no second dial
  c.on_attempt_failed(at_ms(5));
  CHECK(dialed(c.next(at_ms(5))) == 1u);
  c.on_attempt_failed(at_ms(10));
  CHECK(dialed(c.next(at_ms(10))) == 2u);
  c.on_attempt_failed(at_ms(15));

  // End of the list: wait, then start again at the top, not where the last pass stopped.
  CHECK(waits_until(c.next(at_ms(15))) == at_ms(115));
  CHECK(waits_until(c.next(at_ms(114))) == at_ms(115));
  CHECK(dialed(c.next(at_ms(115))) == 0u);
  c.on_attempt_failed(at_ms(120));
  CHECK(dialed(c.next(at_ms(120))) == 1u);

  CHECK(c.attempts(0) == 2);
  CHECK(c.attempts(1) == 2);
  CHECK(c.attempts(2) == 1);
  CHECK(c.failures(0) == 2);
  CHECK(c.failures(1) == 1);
  CHECK(c.failures(2) == 1);
}

TEST_CASE("each fully failed pass waits the current backoff, then multiplies it") {
  address_cycler c{2, no_jitter(milliseconds{100}, milliseconds{30000}, 2.0)};
  time_point now = t0;
  for (long long expected : {100, 200, 400, 800, 1600}) {
    CAPTURE(expected);
    CHECK(c.current_backoff() == milliseconds{expected});
    const time_point until = fail_pass(c, 2, now);
    CHECK(until - now == milliseconds{expected});
    now = until;
  }
  CHECK(c.passes_failed() == 5);
  CHECK(c.current_backoff() == milliseconds{3200});
}

TEST_CASE("the backoff stops growing at the maximum") {
  address_cycler c{1, no_jitter(milliseconds{100}, milliseconds{500}, 3.0)};
  time_point now = t0;
  for (long long expected : {100, 300, 500, 500, 500}) {
    CAPTURE(expected);
    const time_point until = fail_pass(c, 1, now);
    CHECK(until - now == milliseconds{expected});
    now = until;
  }
  CHECK(c.current_backoff() == milliseconds{500});
}

TEST_CASE("a successful connection resets the backoff to the initial value") {
  address_cycler c{2, no_jitter()};
  time_point now = fail_pass(c, 2, t0);
  now = fail_pass(c, 2, now);
  REQUIRE(c.current_backoff() == milliseconds{400});
  REQUIRE(c.passes_failed() == 2);

  REQUIRE(dialed(c.next(now)) == 0u);
  c.on_connected();
  CHECK(c.connected_index() == 0u);
  CHECK(c.current_backoff() == milliseconds{100});
  CHECK(c.passes_failed() == 0);
  CHECK(is_idle(c.next(now + milliseconds{10'000}))); // connected: nothing to do

  c.on_disconnected();
  const time_point until = fail_pass(c, 2, now);
  CHECK(until - now == milliseconds{100});
}

TEST_CASE("jitter keeps every wait within [1 - jitter, 1 + jitter] of the backoff") {
  // initial == max keeps the undithered backoff at 1000 ms, so every wait is 1000 * factor.
  const backoff_config cfg{milliseconds{1000}, milliseconds{1000}, 2.0, 0.2};
  address_cycler c{1, cfg, 42};
  time_point now = t0;
  milliseconds shortest{2000}, longest{0};
  for (int pass = 0; pass < 500; ++pass) {
    const time_point until = fail_pass(c, 1, now);
    const auto wait = std::chrono::duration_cast<milliseconds>(until - now);
    CHECK(wait >= milliseconds{800});
    CHECK(wait <= milliseconds{1200});
    shortest = std::min(shortest, wait);
    longest = std::max(longest, wait);
    now = until;
  }
  // The factor is spread over the range, not stuck at one value.
  CHECK(shortest < milliseconds{850});
  CHECK(longest > milliseconds{1150});
}

TEST_CASE("the same seed gives the same waits; another seed gives others") {
  const backoff_config cfg{milliseconds{100}, milliseconds{30000}, 2.0, 0.5};
  auto waits = [&](std::uint64_t seed) {
    address_cycler c{3, cfg, seed};
    std::vector<time_point::duration> out;
    time_point now = t0;
    for (int pass = 0; pass < 8; ++pass) {
      const time_point until = fail_pass(c, 3, now);
      out.push_back(until - now);
      now = until;
    }
    return out;
  };
  CHECK(waits(7) == waits(7));
  CHECK(waits(7) != waits(8));
}

TEST_CASE("an inbound connection is used instead of dialing; its loss redials the top at once") {
  address_cycler c{3, no_jitter()};
  time_point now = fail_pass(c, 3, t0);
  now = fail_pass(c, 3, now); // backoff grown to 400, waiting until `now`

  c.on_inbound(true);
  CHECK(c.inbound_present());
  for (long long ms : {0, 1, 100'000})
    CHECK(is_idle(c.next(now + milliseconds{ms}))); // no dial, no wait while it exists
  CHECK(c.attempts(0) == 2);

  // The inbound connection proved the destination reachable: start over from the top with the
  // initial backoff, without finishing the wait the failed passes had scheduled.
  c.on_inbound(false);
  CHECK(c.current_backoff() == milliseconds{100});
  CHECK(c.passes_failed() == 0);
  const time_point later = now - milliseconds{1};
  CHECK(dialed(c.next(later)) == 0u);
  c.on_attempt_failed(later);
  CHECK(dialed(c.next(later)) == 1u);
}

TEST_CASE("an inbound connection mid-pass abandons the pass; the attempt in flight still reports") {
  address_cycler c{3, no_jitter()};
  REQUIRE(dialed(c.next(t0)) == 0u);
  c.on_attempt_failed(t0);
  REQUIRE(dialed(c.next(t0)) == 1u);

  c.on_inbound(true);
  c.on_attempt_failed(t0); // the dial of address 1 fails after the inbound connection arrived
  CHECK(c.failures(1) == 1);
  CHECK(is_idle(c.next(t0)));

  c.on_inbound(false);
  CHECK(dialed(c.next(t0)) == 0u);
}

TEST_CASE("among several inbound connections the byte-wise smallest identity is chosen") {
  std::vector<std::string> ids{"node-2:9007", "node-10:9007", "node-1:9007"};
  std::sort(ids.begin(), ids.end());
  // Whatever the order the connections arrived in, the same identity wins.
  do {
    const std::size_t i = choose_inbound(ids);
    REQUIRE(i < ids.size());
    CHECK(ids[i] == "node-10:9007"); // bytes, not numbers: '0' (0x30) sorts before ':' (0x3a)
  } while (std::next_permutation(ids.begin(), ids.end()));

  const std::vector<std::string> bytes{"b", "\x80" "high", "a", "\x7f"};
  CHECK(choose_inbound(bytes) == 2u); // unsigned bytes: "a" (0x61) < 0x7f < 0x80
  const std::vector<std::string> tie{"x", "a", "a"};
  CHECK(choose_inbound(tie) == 1u); // first of equals
  CHECK(choose_inbound({}) == 0u);  // empty: returns size()
}

TEST_CASE("an empty address list never dials") {
  address_cycler c{0, no_jitter()};
  CHECK(is_idle(c.next(t0)));
  CHECK(is_idle(c.next(at_ms(1'000'000))));
  c.on_inbound(true);
  c.on_inbound(false);
  CHECK(is_idle(c.next(at_ms(2'000'000))));
  CHECK(c.passes_failed() == 0);
  CHECK_FALSE(c.connected_index().has_value());
}

TEST_CASE("connecting to another address than last time counts a failover") {
  address_cycler c{2, no_jitter()}; // B1, B2
  REQUIRE(dialed(c.next(t0)) == 0u);
  c.on_connected();
  CHECK(c.failovers() == 0); // the first connection is not a failover

  c.on_disconnected(); // B1 goes down
  REQUIRE(dialed(c.next(t0)) == 0u);
  c.on_attempt_failed(t0);
  REQUIRE(dialed(c.next(t0)) == 1u);
  c.on_connected();
  CHECK(c.connected_index() == 1u);
  CHECK(c.failovers() == 1);

  c.on_disconnected(); // B2 goes down, B1 is back: returning to it is a failover too
  REQUIRE(dialed(c.next(t0)) == 0u);
  c.on_connected();
  CHECK(c.failovers() == 2);

  c.on_disconnected(); // same address again: not a failover
  REQUIRE(dialed(c.next(t0)) == 0u);
  c.on_connected();
  CHECK(c.failovers() == 2);
}

TEST_CASE("after a disconnect the next dial is the top of the list, without waiting") {
  address_cycler c{3, no_jitter()};
  REQUIRE(dialed(c.next(t0)) == 0u);
  c.on_attempt_failed(t0);
  REQUIRE(dialed(c.next(t0)) == 1u);
  c.on_attempt_failed(t0);
  REQUIRE(dialed(c.next(t0)) == 2u);
  c.on_connected();
  REQUIRE(c.connected_index() == 2u);

  c.on_disconnected();
  CHECK_FALSE(c.connected_index().has_value());
  CHECK(dialed(c.next(at_ms(1))) == 0u);
  c.on_attempt_failed(at_ms(1));
  CHECK(dialed(c.next(at_ms(1))) == 1u);
}

TEST_CASE("a server that accepts and drops at once is not redialed in a tight loop: the waits grow") {
  address_cycler c{1, no_jitter()};
  time_point now = t0;
  std::vector<long long> waits;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(dialed(c.next(now)) == 0u);
    c.on_connected();
    now += milliseconds{5};
    c.on_disconnected(now, milliseconds{5}); // dropped 5 ms after it was made
    auto w = waits_until(c.next(now));
    REQUIRE(w.has_value());
    waits.push_back(std::chrono::duration_cast<milliseconds>(*w - now).count());
    now = *w;
  }
  CHECK(waits == std::vector<long long>{100, 200, 400, 800, 1600});
  CHECK(c.early_drops() == 5);
  CHECK(c.failures(0) == 5);
  CHECK(c.current_backoff() == milliseconds{3200});
}

TEST_CASE("an early drop moves on to the next server at once; a connection that lasts resets the waits") {
  address_cycler c{2, no_jitter()};
  REQUIRE(dialed(c.next(t0)) == 0u);
  c.on_connected();
  c.on_disconnected(at_ms(10), milliseconds{10});
  CHECK(dialed(c.next(at_ms(10))) == 1u); // no wait: the second server is tried next
  c.on_connected();
  c.on_disconnected(at_ms(20), milliseconds{10});
  auto w = waits_until(c.next(at_ms(20)));
  REQUIRE(w.has_value());
  CHECK(*w == at_ms(120)); // both dropped early: a pass failed, wait the initial backoff
  REQUIRE(dialed(c.next(at_ms(120))) == 0u);
  c.on_connected();
  c.on_disconnected(at_ms(5000), milliseconds{4880}); // lasted: an ordinary disconnect
  CHECK(c.current_backoff() == milliseconds{100});
  CHECK(dialed(c.next(at_ms(5000))) == 0u); // the top again, at once
  c.on_connected();
  c.on_disconnected(at_ms(5010), milliseconds{10});
  CHECK(dialed(c.next(at_ms(5010))) == 1u);
  c.on_attempt_failed(at_ms(5011));
  // An ordinary failed pass after the early drop: the ordinary backoff (reset by the connection).
  CHECK(waits_until(c.next(at_ms(5011))) == at_ms(5111));
}

// Issue 17 part 6: connect_timeout_ms bounds one attempt from the dial (name resolution included)
// to the peer's hello; each dial says when its attempt must be over.
TEST_CASE("each dial carries its deadline: the dial time plus connect_timeout") {
  auto cfg = no_jitter();
  cfg.connect_timeout = milliseconds{1000};
  address_cycler c{2, cfg};
  const struct {
    long long dial_ms;
    std::size_t index;
  } rows[] = {{0, 0}, {1000, 1}};
  for (const auto& row : rows) {
    auto s = c.next(at_ms(row.dial_ms));
    const auto* d = std::get_if<address_cycler::dial>(&s);
    REQUIRE(d != nullptr);
    CHECK(d->index == row.index);
    CHECK(d->deadline == at_ms(row.dial_ms + 1000));
    c.on_attempt_failed(d->deadline); // failed at its deadline: the next address is dialed at once
  }
  CHECK(waits_until(c.next(at_ms(2000))).has_value()); // a full pass failed: now the backoff
}

// A live reload's new addresses are adopted only while in_flight() is false and no outbound
// connection is in use (actors/address_cycler_actor.cpp, adopt_pending).
TEST_CASE("in_flight: from a dial until its result, never while waiting or connected") {
  address_cycler c{2, no_jitter()};
  CHECK_FALSE(c.in_flight());
  REQUIRE(dialed(c.next(t0)) == 0u);
  CHECK(c.in_flight());
  c.on_attempt_failed(at_ms(1));
  CHECK_FALSE(c.in_flight());
  REQUIRE(dialed(c.next(at_ms(1))) == 1u);
  CHECK(c.in_flight());
  c.on_connected();
  CHECK_FALSE(c.in_flight());
  CHECK(c.connected_index() == 1u);
  c.on_disconnected();
  CHECK_FALSE(c.in_flight());
  CHECK_FALSE(c.connected_index().has_value());
}
