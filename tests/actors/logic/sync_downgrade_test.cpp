// logic/sync_downgrade.hpp: a table test per rule (downgrade by ack age, by disconnection, by an
// operator; upgrade in catch-up rounds; bounded checkpoints), time given as data.
#include "actors/logic/sync_downgrade.hpp"

#include <doctest/doctest.h>

using namespace tandem::logic;

namespace {

// B sync with downgrade_after_ms 1000, C async, D sync with 0 (never by the rules).
sync_downgrade make(std::uint64_t durable = 0, std::uint64_t now = 0) {
  return sync_downgrade({{"B", true, 1000}, {"C", false, 1000}, {"D", true, 0}}, durable, now);
}

constexpr std::size_t B = 0, C = 1, D = 2;

} // namespace

TEST_CASE("ack_timeout: a record waiting more than downgrade_after_ms downgrades, not at exactly the limit") {
  struct row {
    std::uint64_t tick_at;
    bool downgraded;
  };
  for (auto r : {row{999, false}, row{1000, false}, row{1001, true}, row{5000, true}}) {
    CAPTURE(r.tick_at);
    auto s = make();
    s.on_durable(10, 0);
    s.tick(r.tick_at);
    CHECK(s.downgraded(B) == r.downgraded);
    CHECK_FALSE(s.downgraded(C)); // async: never
    CHECK_FALSE(s.downgraded(D)); // 0: never by the rules
    auto t = s.take_transitions();
    if (s.downgraded(B)) {
      REQUIRE(t.size() == 1);
      CHECK(t[0].destination == B);
      CHECK(t[0].downgraded);
      CHECK(t[0].reason == downgrade_reason::ack_timeout);
      CHECK(t[0].text.find("seq 1") != std::string::npos);
      CHECK(s.reason(B) == downgrade_reason::ack_timeout);
      CHECK(s.downgraded_since_ms(B) == r.tick_at);
      CHECK(s.downgrades(B) == 1);
    } else {
      CHECK(t.empty());
    }
  }
}

TEST_CASE("ack_timeout: the wait is the oldest unacked record's, and an acked destination never downgrades") {
  auto s = make();
  s.on_durable(10, 0);
  s.on_durable(20, 600);
  s.on_position(B, 10, 700); // records 11..20 committed at 600
  s.tick(1500);
  CHECK_FALSE(s.downgraded(B));
  s.tick(1601);
  CHECK(s.downgraded(B));
  auto s2 = make();
  s2.on_durable(10, 0);
  s2.on_position(B, 10, 5);
  s2.tick(100000);
  CHECK_FALSE(s2.downgraded(B));
  CHECK_FALSE(s2.wants_ticks());
}

TEST_CASE("disconnected: more than downgrade_after_ms down while a record waits") {
  auto s = make(0, 0);
  s.on_connection(B, false, 0);
  s.tick(5000); // nothing waits: stays sync
  CHECK_FALSE(s.downgraded(B));
  s.on_durable(1, 5000); // a record arrives after 5 s down: downgraded at once
  CHECK(s.downgraded(B));
  CHECK(s.reason(B) == downgrade_reason::disconnected);
  auto t = s.take_transitions();
  REQUIRE(t.size() == 1);
  CHECK(t[0].text.find("disconnected for 5000 ms") != std::string::npos);
}

TEST_CASE("downgraded, each transition once; upgrade when connected and caught up") {
  auto s = make();
  s.on_durable(10, 0);
  s.tick(2000);
  REQUIRE(s.downgraded(B));
  CHECK(s.take_transitions().size() == 1);
  s.tick(3000);
  CHECK(s.take_transitions().empty()); // logged once
  s.on_connection(B, false, 3000);
  s.on_position(B, 10, 3100); // acks while disconnected: no upgrade without a connection
  CHECK(s.downgraded(B));
  s.on_connection(B, true, 3200); // caught up and connected
  CHECK_FALSE(s.downgraded(B));
  auto t = s.take_transitions();
  REQUIRE(t.size() == 1);
  CHECK_FALSE(t[0].downgraded);
  CHECK(s.upgrades(B) == 1);
  CHECK(s.downgraded_ms_total(B, 9999) == 1200);
  CHECK(s.downgraded_since_ms(B) == 0);
  CHECK(s.reason(B) == downgrade_reason::none);
}

TEST_CASE("upgrade in rounds: within the slack it is sync again, beyond it one more round") {
  struct row {
    std::uint64_t reached_at; // when B acks the round's target (the round started at 3000)
    bool upgraded;
  };
  for (auto r : {row{3500, true}, row{3501, false}}) {
    CAPTURE(r.reached_at);
    auto s = make();
    s.on_durable(10, 0);
    s.tick(2000);
    REQUIRE(s.downgraded(B));
    s.on_connection(B, true, 3000); // round 1: target 10
    s.on_durable(20, 3100);         // more arrives while it catches up
    s.on_position(B, 10, r.reached_at);
    CHECK(s.downgraded(B) != r.upgraded);
    if (!r.upgraded) { // round 2: target 20
      s.on_durable(25, r.reached_at + 10);
      s.on_position(B, 20, r.reached_at + 100); // quick: within 500 ms
      CHECK_FALSE(s.downgraded(B));
    }
  }
}

TEST_CASE("an upgraded destination gets a full downgrade_after_ms before the age rule applies again") {
  auto s = make();
  s.on_durable(10, 0);
  s.tick(2000);
  s.on_connection(B, true, 3000);
  s.on_durable(20, 3000);
  s.on_position(B, 10, 3100); // upgraded at 3100, records 11..20 still unacked (committed at 3000)
  REQUIRE_FALSE(s.downgraded(B));
  CHECK(s.wants_ticks());
  s.tick(4100);
  CHECK_FALSE(s.downgraded(B));
  s.tick(4101);
  CHECK(s.downgraded(B));
}

TEST_CASE("admin: downgrade holds until an upgrade, upgrade returns to sync once caught up") {
  auto s = make();
  CHECK(s.admin_downgrade("nobody", 0) == admin_outcome::unknown_destination);
  CHECK(s.admin_downgrade("C", 0) == admin_outcome::not_sync);
  CHECK(s.admin_upgrade("C", 0) == admin_outcome::not_sync);
  CHECK(s.admin_downgrade("B", 10) == admin_outcome::ok);
  CHECK(s.downgraded(B));
  CHECK(s.admin_hold(B));
  CHECK(s.reason(B) == downgrade_reason::admin);
  s.on_connection(B, true, 20); // caught up (nothing durable) and connected: held all the same
  s.tick(5000);
  CHECK(s.downgraded(B));
  CHECK(s.admin_downgrade("D", 30) == admin_outcome::ok); // 0 = never by the rules; an operator may
  CHECK(s.downgraded(D));
  s.on_durable(5, 6000);
  CHECK(s.admin_upgrade("B", 6000) == admin_outcome::ok);
  CHECK(s.downgraded(B)); // not caught up yet
  CHECK_FALSE(s.admin_hold(B));
  s.on_position(B, 5, 6100);
  CHECK_FALSE(s.downgraded(B));
  CHECK(s.admin_upgrade("B", 6200) == admin_outcome::ok); // already sync: nothing changes
  CHECK_FALSE(s.downgraded(B));
  auto t = s.take_transitions();
  CHECK(t.size() == 3); // B down, D down, B up
}

TEST_CASE("an admin downgrade of an already downgraded destination holds it with reason admin") {
  auto s = make();
  s.on_durable(1, 0);
  s.tick(1100);
  REQUIRE(s.reason(B) == downgrade_reason::ack_timeout);
  s.admin_downgrade("B", 1200);
  CHECK(s.reason(B) == downgrade_reason::admin);
  CHECK(s.downgraded_since_ms(B) == 1100);
  CHECK(s.downgrades(B) == 1);
}

TEST_CASE("checkpoints stay bounded: a destination down for a day, commits every millisecond") {
  auto s = make();
  s.on_connection(B, false, 0);
  std::size_t most = 0;
  for (std::uint64_t t = 1; t <= 24ull * 3600 * 1000; t += 997) {
    s.on_durable(t, t);
    if (t % 100 == 0)
      s.tick(t);
    most = std::max(most, s.checkpoints());
  }
  CHECK(s.downgraded(B));
  CHECK(most <= 40);
  CHECK(s.checkpoints() == 0); // nothing tracked while B is downgraded (D has 0)
  CHECK_FALSE(s.wants_ticks());
}

TEST_CASE("checkpoints: one per granularity over downgrade_after_ms, a commit every ms and slow acks") {
  sync_downgrade s({{"B", true, 1000}}, 0, 0); // granularity 31 ms
  CHECK(s.granularity_ms() == 31);
  std::size_t most = 0;
  for (std::uint64_t t = 1; t <= 60'000; ++t) {
    s.on_durable(t, t);
    if (t > 900)
      s.on_position(0, t - 900, t); // 900 ms behind: never downgraded
    most = std::max(most, s.checkpoints());
  }
  CHECK_FALSE(s.downgraded(0));
  CHECK(most <= 1000 / 31 + 2);
  CHECK(most <= sync_downgrade::max_checkpoints);
}

TEST_CASE("a stale position is ignored; unknown indexes are ignored") {
  auto s = make();
  s.on_durable(10, 0);
  s.on_position(B, 8, 1);
  s.on_position(B, 3, 2);
  s.on_position(7, 3, 2);
  s.on_connection(7, false, 2);
  s.tick(1001 + 31);
  CHECK(s.downgraded(B)); // record 9 waited since 0
  CHECK(s.take_transitions()[0].text.find("seq 9") != std::string::npos);
}

// Live reconfiguration (issue 21): new settings rule from the change on.
TEST_CASE("reconfigured: an added or newly tracked destination gets a full delay from the change") {
  struct row {
    const char* what;
    std::uint64_t tick_at;
    bool downgraded;
  };
  for (auto r : {row{"add", 1500, false}, row{"add", 2001, true}, row{"after", 1500, false}, row{"after", 2001, true},
                 row{"sync", 2001, true}}) {
    CAPTURE(r.what);
    CAPTURE(r.tick_at);
    auto s = make();
    s.on_durable(10, 0);
    std::size_t i = D;
    if (std::string{r.what} == "add")
      i = s.add({"N", true, 1000}, 0, 1000);
    else if (std::string{r.what} == "after")
      s.set_downgrade_after(D, 1000, 1000);
    else {
      s.set_downgrade_after(C, 1000, 1000); // unchanged: C had 1000 already
      s.set_sync(C, true, 1000);
      i = C;
    }
    s.on_position(B, 10, 1000); // B is not the one tested
    s.tick(r.tick_at);
    CHECK(s.downgraded(i) == r.downgraded);
  }
}

TEST_CASE("reconfigured: a removed destination counts no more and is unknown by name") {
  auto s = make();
  s.on_durable(10, 0);
  CHECK(s.admin_downgrade("B", 10) == admin_outcome::ok);
  REQUIRE(s.downgraded(B));
  s.remove(B);
  CHECK_FALSE(s.downgraded(B));
  CHECK_FALSE(s.sync(B));
  CHECK(s.removed(B));
  CHECK_FALSE(s.index_of("B").has_value());
  CHECK(s.admin_upgrade("B", 20) == admin_outcome::unknown_destination);
  s.tick(100000);
  CHECK_FALSE(s.downgraded(B));
  CHECK_FALSE(s.wants_ticks()); // D never by the rules, C async: nothing to tick for
  const auto again = s.add({"B", true, 1000}, 0, 200000);
  CHECK(again == 3);
  CHECK(s.index_of("B") == again);
}
