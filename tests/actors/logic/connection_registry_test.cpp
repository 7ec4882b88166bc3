#include <doctest/doctest.h>

#include "actors/logic/connection_registry.hpp"

using namespace tandem::logic;

namespace {
constexpr auto out = dial_direction::outbound;
constexpr auto in = dial_direction::inbound;
} // namespace

TEST_CASE("registry: the first connection with a peer is adopted") {
  connection_registry<int> r{"A"};
  auto a = r.adopt(1, "B", out);
  CHECK(a.keep);
  CHECK_FALSE(a.replaced);
  REQUIRE(r.current("B"));
  CHECK(r.current("B")->first == 1);
  CHECK(r.current("B")->second == out);
  CHECK(r.duplicates_closed() == 0);
}

TEST_CASE("registry: a duplicate is resolved the same way on both nodes") {
  // A and B dial each other at once: A sees its outbound 1 and B's inbound 2; B sees its outbound
  // 3 (= A's inbound 2) and A's inbound 4 (= A's outbound 1). Whatever order the hellos arrive
  // in, both keep the same TCP connection: the one dialed by "A", which sorts first.
  for (bool a_first_outbound : {true, false})
    for (bool b_first_outbound : {true, false}) {
      CAPTURE(a_first_outbound);
      CAPTURE(b_first_outbound);
      connection_registry<int> ra{"A"}, rb{"B"};
      if (a_first_outbound) {
        ra.adopt(1, "B", out);
        ra.adopt(2, "B", in);
      } else {
        ra.adopt(2, "B", in);
        ra.adopt(1, "B", out);
      }
      if (b_first_outbound) {
        rb.adopt(3, "A", out);
        rb.adopt(4, "A", in);
      } else {
        rb.adopt(4, "A", in);
        rb.adopt(3, "A", out);
      }
      CHECK(ra.current("B")->first == 1); // A's outbound
      CHECK(rb.current("A")->first == 4); // the same TCP connection, seen from B
      CHECK(ra.duplicates_closed() == 1);
      CHECK(rb.duplicates_closed() == 1);
    }
}

TEST_CASE("registry: a losing newcomer is refused, a winning one replaces the existing connection") {
  connection_registry<int> a{"A"};
  a.adopt(1, "B", out);
  auto refused = a.adopt(2, "B", in); // B dialed; A's own outbound wins
  CHECK_FALSE(refused.keep);
  CHECK_FALSE(refused.replaced);

  connection_registry<int> b{"B"};
  b.adopt(3, "A", out);
  auto replacing = b.adopt(4, "A", in); // A dialed; that one wins on B too
  CHECK(replacing.keep);
  REQUIRE(replacing.replaced);
  CHECK(*replacing.replaced == 3);
  CHECK(b.current("A")->first == 4);
  CHECK(b.replaced_pending() == 1);
}

TEST_CASE("registry: the same direction twice keeps the newer (the peer reconnected)") {
  connection_registry<int> r{"A"};
  r.adopt(1, "B", in);
  auto again = r.adopt(2, "B", in);
  CHECK(again.keep);
  REQUIRE(again.replaced);
  CHECK(*again.replaced == 1);
}

TEST_CASE("registry: closing the replaced connection never evicts the winner") {
  connection_registry<int> b{"B"};
  b.adopt(3, "A", out);
  b.adopt(4, "A", in); // replaces 3
  CHECK_FALSE(b.closed(3, "A")); // replaced: the connection in use with A did not change
  CHECK(b.current("A")->first == 4);
  CHECK(b.inbound_in_use("A"));
  CHECK(b.replaced_pending() == 0);
  CHECK_FALSE(b.closed(99, "A")); // never kept: nothing to report
}

TEST_CASE("registry: close then re-adopt") {
  connection_registry<int> r{"A"};
  r.adopt(1, "B", out);
  auto gone = r.closed(1, "B");
  REQUIRE(gone);
  CHECK(*gone == out);
  CHECK_FALSE(r.current("B"));
  auto again = r.adopt(5, "B", in);
  CHECK(again.keep);
  CHECK_FALSE(again.replaced);
  CHECK(r.current("B")->first == 5);
  CHECK(r.size() == 1);
}

TEST_CASE("registry: closing a replaced inbound connection does not report the inbound connection gone (issue 14 defect 5)") {
  // B holds an inbound connection from A (A sorts first: its dial wins the tie-break). A
  // reconnects before B saw the old connection end: the new inbound one replaces it. The old
  // one's close used to be reported as "inbound ended", the supervisor told the cycler so, and
  // B dialed A at backoff forever while the new inbound connection was in use.
  connection_registry<int> b{"B"};
  b.adopt(1, "A", in);
  CHECK(b.inbound_in_use("A"));
  auto again = b.adopt(2, "A", in);
  REQUIRE(again.replaced);
  CHECK(*again.replaced == 1);
  CHECK(b.inbound_in_use("A"));
  auto gone = b.closed(1, "A");
  CHECK_FALSE(gone); // the old code returned `in` here
  CHECK(b.inbound_in_use("A"));
  CHECK(b.current("A")->first == 2);
  // The one in use ending is reported, and then no inbound connection is in use.
  auto ended = b.closed(2, "A");
  REQUIRE(ended);
  CHECK(*ended == in);
  CHECK_FALSE(b.inbound_in_use("A"));
  CHECK_FALSE(b.inbound_in_use("nobody"));
}

TEST_CASE("registry: an inbound connection replaced by our own dial is not in use") {
  connection_registry<int> a{"A"};
  a.adopt(1, "B", in);
  CHECK(a.inbound_in_use("B"));
  auto won = a.adopt(2, "B", out); // A sorts first: its own dial wins
  REQUIRE(won.replaced);
  CHECK_FALSE(a.inbound_in_use("B"));
  CHECK_FALSE(a.closed(1, "B"));
  CHECK_FALSE(a.inbound_in_use("B"));
}

TEST_CASE("registry: a second node with the same name and another instance id is refused, whatever the direction") {
  for (auto first : {out, in})
    for (auto second : {out, in}) {
      CAPTURE(first);
      CAPTURE(second);
      connection_registry<int> r{"A"};
      REQUIRE(r.adopt(1, "B", first, "id-1").keep);
      auto other = r.adopt(2, "B", second, "id-2");
      CHECK_FALSE(other.keep);
      CHECK_FALSE(other.replaced);
      REQUIRE(other.conflict);
      CHECK(*other.conflict == "id-1");
      CHECK(r.current("B")->first == 1); // never replaced: no taking turns
      CHECK(r.id_of("B") == "id-1");
      CHECK(r.duplicates_closed() == 0);
    }
}

TEST_CASE("registry: the same instance id (a reconnection) or an id not said falls back to the tie-break") {
  connection_registry<int> r{"A"};
  r.adopt(1, "B", in, "id-1");
  auto again = r.adopt(2, "B", in, "id-1");
  CHECK(again.keep);
  CHECK_FALSE(again.conflict);
  auto old_peer = r.adopt(3, "B", in, ""); // a 1.2 peer says no id
  CHECK(old_peer.keep);
  CHECK_FALSE(old_peer.conflict);
  CHECK(r.id_of("B").empty());
  auto next = r.adopt(4, "B", in, "id-9"); // nothing to compare with
  CHECK(next.keep);
  // once the conflicting node's connection is gone, the other one may connect
  r.closed(4, "B");
  CHECK(r.adopt(5, "B", out, "id-2").keep);
  CHECK(r.id_of("B") == "id-2");
}
