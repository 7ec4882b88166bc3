// actors/logic/ack_tracker.cpp
#include <doctest/doctest.h>

#include <vector>

#include "actors/logic/ack_tracker.hpp"

using namespace tandem::logic;

namespace {

release persisted(std::uint64_t token, std::uint64_t seq) {
  return {token, seq, release_kind::persisted};
}
release rejected(std::uint64_t token, std::uint64_t seq) {
  return {token, seq, release_kind::rejected};
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
