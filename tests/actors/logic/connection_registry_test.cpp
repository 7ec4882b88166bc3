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
  auto gone = b.closed(3, "A");
  REQUIRE(gone);
  CHECK(*gone == out); // the cycler learns its outbound connection ended
  CHECK(b.current("A")->first == 4);
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
