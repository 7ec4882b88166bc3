// actors/logic/ack_tracker.cpp
#include <doctest/doctest.h>

#include <vector>

#include "actors/logic/ack_tracker.hpp"

using namespace tandem::logic;

namespace {

release persisted(std::uint64_t token, std::uint64_t seq) {
  return {token, seq, release_kind::persisted, {}};
}
release rejected(std::uint64_t token, std::uint64_t seq) {
  return {token, seq, release_kind::rejected, {}};
}
using releases = std::vector<release>;

} // namespace

TEST_CASE("with no destinations a publish is acked once it is locally durable") {
  ack_tracker t{{}};
  REQUIRE(t.add(1, 100));
  REQUIRE(t.add(2, 200));
  CHECK(t.take_ready().empty());
  t.on_local_durable(1);
  CHECK(t.take_ready() == releases{persisted(100, 1)});
  t.on_local_durable(2);
  CHECK(t.take_ready() == releases{persisted(200, 2)});
  CHECK(t.pending() == 0);
}

TEST_CASE("a sync destination holds the ack until it acks") {
  ack_tracker t{{true}};
  REQUIRE(t.add(1, 10));
  t.on_local_durable(1);
  CHECK(t.take_ready().empty());
  t.on_destination_acked(0, 1);
  CHECK(t.take_ready() == releases{persisted(10, 1)});
}

TEST_CASE("a destination ack ahead of local durability still waits for the local journal") {
  ack_tracker t{{true}};
  REQUIRE(t.add(1, 10));
  t.on_destination_acked(0, 5); // coverage may run ahead
  CHECK(t.take_ready().empty());
  t.on_local_durable(1);
  CHECK(t.take_ready() == releases{persisted(10, 1)});
}

TEST_CASE("an async destination never delays the ack") {
  ack_tracker t{{false}};
  REQUIRE(t.add(1, 10));
  t.on_local_durable(1);
  CHECK(t.take_ready() == releases{persisted(10, 1)});
  CHECK(t.destination_position(0) == 0);
}

TEST_CASE("with two sync destinations the slower one decides") {
  ack_tracker t{{true, false, true}};
  for (std::uint64_t s = 1; s <= 4; ++s)
    REQUIRE(t.add(s, s * 10));
  t.on_local_durable(4);
  t.on_destination_acked(0, 4);
  t.on_destination_acked(2, 2);
  CHECK(t.take_ready() == releases{persisted(10, 1), persisted(20, 2)});
  t.on_destination_acked(2, 3);
  CHECK(t.take_ready() == releases{persisted(30, 3)});
  t.on_destination_acked(2, 9);
  CHECK(t.take_ready() == releases{persisted(40, 4)});
}

TEST_CASE("a journal rejection releases those publishes as rejected at once") {
  ack_tracker t{{true}};
  REQUIRE(t.add(1, 10));
  REQUIRE(t.add(2, 20));
  REQUIRE(t.add(3, 30));
  t.on_rejected(2, 3);
  // 1 still waits for the sync destination; the rejections do not wait behind it.
  CHECK(t.take_ready() == releases{rejected(20, 2), rejected(30, 3)});
  CHECK(t.pending() == 1);
  // The journal reuses rejected seqs.
  REQUIRE(t.add(2, 21));
  t.on_local_durable(2);
  t.on_destination_acked(0, 2);
  CHECK(t.take_ready() == releases{persisted(10, 1), persisted(21, 2)});
}

TEST_CASE("a rejection in the middle is skipped when the queue reaches it") {
  ack_tracker t{{}};
  REQUIRE(t.add(1, 10));
  REQUIRE(t.add(2, 20));
  REQUIRE(t.add(3, 30));
  t.on_rejected(2, 2);
  CHECK(t.take_ready() == releases{rejected(20, 2)});
  t.on_local_durable(3);
  CHECK(t.take_ready() == releases{persisted(10, 1), persisted(30, 3)});
  t.on_rejected(2, 2); // already released: nothing twice
  CHECK(t.take_ready().empty());
}

TEST_CASE("lower and out-of-order positions are ignored") {
  ack_tracker t{{true}};
  REQUIRE(t.add(1, 10));
  REQUIRE(t.add(2, 20));
  t.on_local_durable(2);
  t.on_local_durable(1);
  CHECK(t.local_durable() == 2);
  t.on_destination_acked(0, 2);
  t.on_destination_acked(0, 1);
  t.on_destination_acked(7, 5); // unknown destination
  CHECK(t.destination_position(0) == 2);
  CHECK(t.ignored_updates() == 3);
  CHECK(t.take_ready() == releases{persisted(10, 1), persisted(20, 2)});
}

TEST_CASE("add refuses when the pending bound is reached and accepts again after releases") {
  ack_tracker t{{}, 2};
  CHECK(t.add(1, 10));
  CHECK(t.add(2, 20));
  CHECK_FALSE(t.add(3, 30));
  t.on_local_durable(1);
  CHECK(t.take_ready().size() == 1);
  CHECK(t.add(3, 30));
  CHECK(t.pending() == 2);
}

TEST_CASE("many publishes release in seq order as positions advance") {
  ack_tracker t{{true}};
  for (std::uint64_t s = 1; s <= 1000; ++s)
    REQUIRE(t.add(s, s));
  t.on_local_durable(1000);
  std::uint64_t expect = 1;
  for (std::uint64_t pos = 7; pos <= 1007; pos += 7) {
    t.on_destination_acked(0, pos);
    for (const release& r : t.take_ready()) {
      CHECK(r.seq == expect);
      CHECK(r.kind == release_kind::persisted);
      ++expect;
    }
  }
  CHECK(expect == 1001);
}

// ---- publishes that need only some sync destinations (topic filters) ----

TEST_CASE("a publish that does not need a down sync destination is not held behind one that does") {
  ack_tracker t{{true, true}}; // 0: sync for everything, 1: sync with a topic filter
  REQUIRE(t.add(1, 10, {true, true}));  // needs both
  REQUIRE(t.add(2, 20, {true, false})); // outside destination 1's filter
  REQUIRE(t.add(3, 30, {true, true}));
  REQUIRE(t.add(4, 40, {true, false}));
  t.on_local_durable(4);
  t.on_destination_acked(0, 4); // destination 1 is down
  CHECK(t.take_ready() == releases{persisted(20, 2), persisted(40, 4)});
  CHECK(t.pending() == 2);
  t.on_destination_acked(1, 3);
  CHECK(t.take_ready() == releases{persisted(10, 1), persisted(30, 3)});
  CHECK(t.pending() == 0);
  CHECK(t.take_ready().empty());
}

TEST_CASE("a publish is never released before every destination it needs acked it, nor before durable") {
  ack_tracker t{{true, true, false}}; // the async one never counts, even when named
  REQUIRE(t.add(5, 1, {false, true, true}));
  t.on_destination_acked(0, 9);
  t.on_destination_acked(2, 9);
  CHECK(t.take_ready().empty()); // destination 1 has not acked, nor is 5 durable
  t.on_destination_acked(1, 5);
  CHECK(t.take_ready().empty()); // not durable
  t.on_local_durable(5);
  CHECK(t.take_ready() == releases{persisted(1, 5)});
}

TEST_CASE("needing no sync destination releases on local durability; empty needs means every sync destination") {
  ack_tracker t{{true}};
  REQUIRE(t.add(1, 1, {false}));
  REQUIRE(t.add(2, 2)); // default: all
  t.on_local_durable(2);
  CHECK(t.take_ready() == releases{persisted(1, 1)});
  t.on_destination_acked(0, 2);
  CHECK(t.take_ready() == releases{persisted(2, 2)});
}

TEST_CASE("rejections and reused seqs stay exact with several needs sets") {
  ack_tracker t{{true, true}};
  REQUIRE(t.add(1, 1, {true, false}));
  REQUIRE(t.add(2, 2, {false, true}));
  REQUIRE(t.add(3, 3, {true, false}));
  t.on_rejected(2, 3);
  CHECK(t.take_ready() == releases{rejected(2, 2), rejected(3, 3)});
  REQUIRE(t.add(2, 22, {true, false})); // the journal reuses rejected seqs
  t.on_local_durable(2);
  t.on_destination_acked(0, 2);
  CHECK(t.take_ready() == releases{persisted(1, 1), persisted(22, 2)});
  CHECK(t.pending() == 0);
}

TEST_CASE("needs sets are bounded: beyond max_needs_sets a publish waits for every sync destination") {
  const std::size_t n = 8; // 2^8 possible sets > max_needs_sets
  ack_tracker t{std::vector<bool>(n, true)};
  std::uint64_t seq = 0;
  for (unsigned m = 1; m < 256; ++m) {
    std::vector<bool> needs(n);
    for (std::size_t i = 0; i < n; ++i) needs[i] = (m >> i) & 1u;
    REQUIRE(t.add(++seq, m, needs));
  }
  t.on_local_durable(seq);
  t.on_destination_acked(0, seq); // only destination 0 acked: sets {0} alone may go
  auto out = t.take_ready();
  REQUIRE(out.size() == 1);
  CHECK(out[0].token == 1);
  for (std::size_t i = 1; i < n; ++i) t.on_destination_acked(i, seq);
  CHECK(t.take_ready().size() == 254);
  CHECK(t.pending() == 0);
}

// Issue 14, defect 3 ("publishers hang forever"): the journal's gate counted pending() while add()
// counted every queued entry, including those released out of order behind an older publish
// still waiting for a down sync destination. The gate let a publish through, add() refused it,
// and the journal actor dropped the refusal: that publish (and every later ack of its
// connection) was never answered.
TEST_CASE("defect 3: publishers hang forever: add refused a publish the pending() gate let through") {
  ack_tracker t{{true, true}, 2};
  REQUIRE(t.add(1, 10, {true, false})); // needs D0, which is down
  REQUIRE(t.add(2, 20, {false, true})); // needs D1 only
  t.on_local_durable(2);
  t.on_destination_acked(1, 2);
  CHECK(t.take_ready() == releases{persisted(20, 2)}); // released ahead of seq 1
  REQUIRE(t.pending() == 1);                            // the gate: 1 < 2, let the next one in
  CHECK(t.add(3, 30, {false, true}));                   // old code: false (2 entries queued)
  t.on_local_durable(3);
  t.on_destination_acked(1, 3);
  CHECK(t.take_ready() == releases{persisted(30, 3)});
  t.on_destination_acked(0, 3);
  CHECK(t.take_ready() == releases{persisted(10, 1)});
  CHECK(t.pending() == 0);
}

TEST_CASE("admission: one count from submit to answer; an admitted publish is never refused by add") {
  ack_tracker t{{true, true}, 3};
  // Slots are taken at submit, before the journal assigns a seq, and freed by the answer.
  REQUIRE(t.try_admit());
  REQUIRE(t.try_admit());
  REQUIRE(t.try_admit());
  CHECK_FALSE(t.try_admit()); // the caller refuses this one with queue_full, answered at once
  CHECK(t.admitted() == 3);
  REQUIRE(t.add(1, 10, {true, false})); // waits for the down D0
  std::uint64_t seq = 1;
  // Thousands of publishes that need only D1 go through, one slot at a time, while seq 1 waits.
  t.on_answered();
  t.on_answered();
  for (int i = 0; i < 5000; ++i) {
    REQUIRE(t.try_admit());
    ++seq;
    REQUIRE(t.add(seq, seq * 10, {false, true}));
    t.on_local_durable(seq);
    t.on_destination_acked(1, seq);
    REQUIRE(t.take_ready() == releases{persisted(seq * 10, seq)});
    t.on_answered();
  }
  CHECK(t.pending() == 1);
  CHECK(t.admitted() == 1);
  CHECK(t.queued() <= 2 * t.pending() + 65); // released entries behind seq 1 are compacted away
  t.on_destination_acked(0, seq);
  CHECK(t.take_ready() == releases{persisted(10, 1)});
  t.on_answered();
  CHECK(t.admitted() == 0);
  CHECK(t.queued() == 0);
}

TEST_CASE("compaction keeps rejections and reused seqs exact") {
  ack_tracker t{{true, true}};
  REQUIRE(t.add(1, 10, {true, false})); // waits for D0
  std::uint64_t seq = 1;
  for (int i = 0; i < 200; ++i) { // released ahead of seq 1: compacted
    ++seq;
    REQUIRE(t.add(seq, seq * 10, {false, true}));
  }
  t.on_local_durable(seq);
  t.on_destination_acked(1, seq);
  CHECK(t.take_ready().size() == 200);
  CHECK(t.queued() <= 65);
  REQUIRE(t.add(seq + 1, 7, {false, true}));
  REQUIRE(t.add(seq + 2, 8, {true, false}));
  t.on_rejected(seq + 1, seq + 2);
  CHECK(t.take_ready() == releases{rejected(7, seq + 1), rejected(8, seq + 2)});
  REQUIRE(t.add(seq + 1, 9, {true, false})); // the journal reuses rejected seqs
  t.on_local_durable(seq + 1);
  t.on_destination_acked(0, seq + 1);
  CHECK(t.take_ready() == releases{persisted(10, 1), persisted(9, seq + 1)});
  CHECK(t.pending() == 0);
}

// Live reconfiguration (issue 21): indexes never move; set_sync(true) holds publishes added from
// then on, set_sync(false) releases the waiting ones.
TEST_CASE("ack_tracker: a destination made sync holds only publishes added after it; removed, it holds none") {
  ack_tracker t({true});
  REQUIRE(t.add(1, 10));
  const auto n = t.add_destination(0);
  CHECK(n == 1);
  t.set_sync(n, true);
  REQUIRE(t.add(2, 20));
  t.on_local_durable(2);
  t.on_destination_acked(0, 2);
  auto r = t.take_ready();
  REQUIRE(r.size() == 1);
  CHECK(r[0].token == 10); // added before n was sync: does not wait for it
  CHECK(t.held_back_by(n) == 1);
  CHECK(t.holding_back() == std::vector<bool>{false, true});
  t.set_sync(n, false); // removed
  r = t.take_ready();
  REQUIRE(r.size() == 1);
  CHECK(r[0].token == 20);
  CHECK(r[0].not_on.empty());
  CHECK(t.pending() == 0);
}

TEST_CASE("ack_tracker: a publish with explicit needs keeps them across a destination added later") {
  ack_tracker t({true, true});
  REQUIRE(t.add(1, 10, {true, false}));
  REQUIRE(t.add(2, 20));
  const auto n = t.add_destination(5);
  t.set_sync(n, true);
  REQUIRE(t.add(3, 30, {false, true, false})); // needs 1 only
  t.on_local_durable(3);
  t.on_destination_acked(0, 3);
  auto r = t.take_ready();
  REQUIRE(r.size() == 1);
  CHECK(r[0].token == 10);
  t.on_destination_acked(1, 3);
  r = t.take_ready();
  REQUIRE(r.size() == 2); // 20 (old needs: 0 and 1) and 30 (1 only); n at 5 covers 3 anyway
  CHECK(r[0].token == 20);
  CHECK(r[1].token == 30);
}
