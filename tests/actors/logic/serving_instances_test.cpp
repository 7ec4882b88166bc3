// logic::serving_instances: which connected instance of a destination group serves its link.
#include <doctest/doctest.h>

#include "actors/logic/connection_registry.hpp"
#include "actors/logic/serving_instances.hpp"

using namespace tandem::logic;

namespace {

serving_instances group_b() {
  serving_instances s;
  s.add_destination("B", {"B1", "B2", "B3"});
  s.add_destination("C", {"C"});
  return s;
}

} // namespace

TEST_CASE("serving: a hello from any listed instance belongs to the destination; others to none") {
  auto s = group_b();
  REQUIRE(s.destination_of("B2"));
  CHECK(*s.destination_of("B2") == "B");
  CHECK(*s.destination_of("C") == "C");
  CHECK(s.destination_of("B") == nullptr); // the destination's own name is no instance here
  CHECK(s.destination_of("X") == nullptr);
  CHECK_FALSE(s.on_connected("X"));
  CHECK(s.on_disconnected("X").destination.empty());
}

TEST_CASE("serving: the first instance connected serves, later ones wait connected") {
  auto s = group_b();
  CHECK_FALSE(s.serving("B"));
  CHECK(s.on_connected("B2"));
  CHECK_FALSE(s.on_connected("B1"));
  CHECK(s.serving("B") == "B2");
  CHECK(s.connected_instances("B") == std::vector<std::string>{"B1", "B2"});
  // B2's connection replaced by a new one (a reconnect or a crossed dial): B2 still serves.
  CHECK(s.on_connected("B2"));
  CHECK(s.failovers("B") == 0);
}

TEST_CASE("serving: when the serving instance's connection ends another connected one takes over at once") {
  // Table: connected in this order, then the ending instance; who serves after, in config order.
  struct row {
    std::vector<std::string> connect;
    std::string ends;
    bool was_serving;
    std::optional<std::string> next;
  };
  const std::vector<row> rows{
    {{"B3", "B2", "B1"}, "B3", true, "B1"},  // the first of the rest in config order
    {{"B3", "B2"}, "B3", true, "B2"},
    {{"B3", "B2"}, "B2", false, std::nullopt}, // a waiting instance left: nothing changes
    {{"B1"}, "B1", true, std::nullopt},        // none left: nobody serves, the cycler dials
  };
  for (const auto& r : rows) {
    CAPTURE(r.ends);
    auto s = group_b();
    for (const auto& i : r.connect)
      s.on_connected(i);
    auto before = s.serving("B");
    auto h = s.on_disconnected(r.ends);
    CHECK(h.destination == "B");
    CHECK(h.was_serving == r.was_serving);
    if (r.was_serving) {
      CHECK(h.next == r.next);
      CHECK(s.serving("B") == r.next);
      CHECK(s.failovers("B") == (r.next ? 1u : 0u));
    } else {
      CHECK(s.serving("B") == before);
    }
    CHECK_FALSE(s.connected(r.ends));
  }
}

TEST_CASE("serving: fed from the registry, a replaced connection's end is no failover") {
  // The supervisor reports on_disconnected only when the registry's closed() says the connection
  // in use ended; a crossed dial with B1 replaces one connection by another and changes nothing.
  connection_registry<int> reg{"A"};
  auto s = group_b();
  REQUIRE(reg.adopt(1, "B1", dial_direction::inbound).keep);
  CHECK(s.on_connected("B1"));
  REQUIRE(reg.adopt(2, "B2", dial_direction::outbound).keep);
  CHECK_FALSE(s.on_connected("B2"));
  auto crossed = reg.adopt(3, "B1", dial_direction::outbound); // "A" < "B1": A's dial wins
  REQUIRE(crossed.keep);
  CHECK(s.on_connected("B1")); // the link moves to connection 3
  CHECK_FALSE(reg.closed(1, "B1"));
  CHECK(s.serving("B") == "B1");
  REQUIRE(reg.closed(3, "B1"));
  auto h = s.on_disconnected("B1");
  CHECK(h.next == "B2");
  REQUIRE(reg.current("B2"));
  CHECK(reg.current("B2")->first == 2); // the connection the link is handed to
}

TEST_CASE("serving: a destination removed by a live reload serves nothing; added again it starts unserved") {
  auto s = group_b();
  CHECK(s.on_connected("B1"));
  s.remove_destination("B");
  CHECK(s.destination_of("B1") == nullptr);
  CHECK_FALSE(s.serving("B"));
  CHECK(s.on_disconnected("B1").destination.empty()); // its connection's end is no failover
  s.add_destination("B", {"B1", "B2"});
  CHECK_FALSE(s.serving("B"));
  CHECK(s.on_connected("B2"));
  CHECK(s.serving("B") == "B2");
}
