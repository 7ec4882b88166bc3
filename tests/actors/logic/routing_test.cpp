// actors/logic/routing.cpp
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/logic/routing.hpp"

using namespace tandem::logic;

namespace {

const std::vector<std::string> no_passthrough;

route_input direct(std::string_view topic, std::string_view origin = "A") {
  return {origin, topic, {}, {}};
}

route_input replicated(std::string_view origin, std::string_view topic,
                       const std::vector<std::string>& path, std::string_view upstream_group) {
  return {origin, topic, path, upstream_group};
}

// A node in a simulated topology: its routes and the records it stored (by origin:origin_seq),
// with the path each copy carried.
struct sim_node {
  std::string name;
  std::string group;
  std::vector<destination_route> routes;
  std::map<std::string, std::vector<std::vector<std::string>>> stored;
};

// Delivers one record published at `publisher` hop by hop, the way links would: every node
// routes the stored copy to each of its destinations with path = stored_path + [sender].
// Receivers drop what they already hold (as inbound_dedup would). Returns the hop count.
int flood(std::map<std::string, sim_node>& nodes, const std::string& publisher,
          const std::string& topic) {
  nodes[publisher].stored["r"].push_back({});
  std::vector<std::pair<std::string, std::vector<std::string>>> to_route{{publisher, {}}};
  int hops = 0;
  while (!to_route.empty()) {
    auto [at, path] = to_route.back();
    to_route.pop_back();
    sim_node& n = nodes[at];
    const std::string upstream_group = path.empty() ? "" : nodes[path.back()].group;
    for (const destination_route& r : n.routes) {
      if (!r.admits({publisher, topic, path, upstream_group}))
        continue;
      ++hops;
      std::vector<std::string> wire_path = path;
      wire_path.push_back(at);
      sim_node& d = nodes[r.destination()];
      if (d.name == publisher || !d.stored["r"].empty())
        continue; // duplicate: dropped by the receiver
      d.stored["r"].push_back(wire_path);
      to_route.emplace_back(d.name, wire_path);
    }
  }
  return hops;
}

} // namespace

TEST_CASE("a record published to this node routes to a destination whose topics match") {
  destination_route to_b{"B", ".*", no_passthrough};
  CHECK(to_b.admits(direct("orders")));
}

TEST_CASE("a replicated record is not sent on without passthrough, so A<->B never echoes") {
  destination_route b_to_a{"A", ".*", no_passthrough};
  destination_route b_to_c{"C", ".*", no_passthrough};
  const std::vector<std::string> path{"A"};
  // A's record stored on B: going back to A is refused (A is origin and in path) ...
  CHECK_FALSE(b_to_a.admits(replicated("A", "orders", path, "A")));
  // ... and so is any other destination without passthrough.
  CHECK_FALSE(b_to_c.admits(replicated("A", "orders", path, "A")));
}

TEST_CASE("a chain A->B->C delivers A's records to C when B passes A's group through") {
  std::map<std::string, sim_node> nodes;
  nodes["A"] = {"A", "ga", {destination_route{"B", ".*", no_passthrough}}, {}};
  nodes["B"] = {"B", "gb", {destination_route{"C", ".*", {"ga"}}}, {}};
  nodes["C"] = {"C", "gc", {}, {}};
  flood(nodes, "A", "orders");
  REQUIRE(nodes["C"].stored["r"].size() == 1);
  CHECK(nodes["C"].stored["r"][0] == std::vector<std::string>{"A", "B"});
}

TEST_CASE("a chain without passthrough on the middle node stops there") {
  std::map<std::string, sim_node> nodes;
  nodes["A"] = {"A", "ga", {destination_route{"B", ".*", no_passthrough}}, {}};
  nodes["B"] = {"B", "gb", {destination_route{"C", ".*", no_passthrough}}, {}};
  nodes["C"] = {"C", "gc", {}, {}};
  flood(nodes, "A", "orders");
  CHECK(nodes["B"].stored["r"].size() == 1);
  CHECK(nodes["C"].stored["r"].empty());
}

TEST_CASE("a ring A->B->C->A with passthrough everywhere stores once per node and stops") {
  const std::vector<std::string> all{".*"};
  std::map<std::string, sim_node> nodes;
  nodes["A"] = {"A", "ga", {destination_route{"B", ".*", all}}, {}};
  nodes["B"] = {"B", "gb", {destination_route{"C", ".*", all}}, {}};
  nodes["C"] = {"C", "gc", {destination_route{"A", ".*", all}}, {}};

  // Hop by hop: the path grows and the last hop (back to the origin) is refused.
  CHECK(nodes["A"].routes[0].admits({"A", "t", {}, ""}));
  const std::vector<std::string> at_b{"A"};
  CHECK(nodes["B"].routes[0].admits({"A", "t", at_b, "ga"}));
  const std::vector<std::string> at_c{"A", "B"};
  CHECK_FALSE(nodes["C"].routes[0].admits({"A", "t", at_c, "gb"}));

  // Whole flood: each node stores once and exactly two hops are sent.
  CHECK(flood(nodes, "A", "t") == 2);
  CHECK(nodes["A"].stored["r"].size() == 1);
  CHECK(nodes["B"].stored["r"].size() == 1);
  CHECK(nodes["C"].stored["r"].size() == 1);
}

TEST_CASE("a bidirectional ring with passthrough reaches everyone and nobody is sent a record "
          "already in its path") {
  const std::vector<std::string> all{".*"};
  std::map<std::string, sim_node> nodes;
  for (const char* n : {"A", "B", "C", "D"})
    nodes[n] = {n, std::string{"g"} + n, {}, {}};
  auto link = [&](const std::string& x, const std::string& y) {
    nodes[x].routes.emplace_back(y, ".*", all);
    nodes[y].routes.emplace_back(x, ".*", all);
  };
  link("A", "B");
  link("B", "C");
  link("C", "D");
  link("D", "A");
  const int hops = flood(nodes, "A", "t");
  for (const char* n : {"A", "B", "C", "D"})
    CHECK(nodes[n].stored["r"].size() == 1);
  CHECK(hops <= 8); // at most once per direction of each link: nothing circulates
}

TEST_CASE("the topic filter must match the whole topic") {
  destination_route r{"B", "orders\\..*", no_passthrough};
  CHECK(r.admits(direct("orders.eu")));
  CHECK_FALSE(r.admits(direct("trades")));
  CHECK_FALSE(r.admits(direct("x.orders.eu"))); // a search would match; a full match does not
}

TEST_CASE("a record is never sent to its origin") {
  destination_route to_a{"A", ".*", {".*"}};
  const std::vector<std::string> path{"A"};
  CHECK_FALSE(to_a.admits(replicated("A", "t", path, "ga")));
  CHECK_FALSE(to_a.admits(direct("t", "A"))); // origin A even with an empty path
}

TEST_CASE("a record is never sent to an instance already in its path") {
  destination_route to_b{"B", ".*", {".*"}};
  const std::vector<std::string> path{"A", "B", "C"};
  CHECK_FALSE(to_b.admits(replicated("A", "t", path, "gc")));
  destination_route to_e{"E", ".*", {".*"}};
  CHECK(to_e.admits(replicated("A", "t", path, "gc")));
}

TEST_CASE("passthrough regexes must match the whole upstream group") {
  destination_route r{"C", ".*", {"east", "west-.*"}};
  const std::vector<std::string> path{"A"};
  CHECK(r.admits(replicated("A", "t", path, "east")));
  CHECK(r.admits(replicated("A", "t", path, "west-1")));
  CHECK_FALSE(r.admits(replicated("A", "t", path, "northeast"))); // "east" is only a part
  CHECK_FALSE(r.admits(replicated("A", "t", path, "east2")));
  CHECK_FALSE(r.admits(replicated("A", "t", path, "")));
}

// The reference for "t[0-9]*5" written out by hand.
bool t_digits_ending_in_5(const std::string& s) {
  if (s.size() < 2 || s.front() != 't' || s.back() != '5')
    return false;
  return std::all_of(s.begin() + 1, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

TEST_CASE("the topic cache gives the same answers as the regex and is bounded") {
  destination_route cached{"B", "t[0-9]*5", no_passthrough, 8};
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 20; ++i) {
      const std::string topic = "t" + std::to_string(i);
      CHECK(cached.admits(direct(topic)) == t_digits_ending_in_5(topic));
      CHECK(cached.topic_cache_size() <= 8);
    }
  // 20 distinct topics through an 8-entry cache: it cleared and refilled, still correct.
  CHECK(cached.topic_cache_misses() >= 20);

  destination_route big{"B", "t[0-9]*5", no_passthrough};
  for (int round = 0; round < 3; ++round)
    for (int i = 0; i < 20; ++i)
      CHECK(big.admits(direct("t" + std::to_string(i))) == t_digits_ending_in_5("t" + std::to_string(i)));
  CHECK(big.topic_cache_misses() == 20);
  CHECK(big.topic_cache_hits() == 40);
}

// Defect 1 of issue 14: std::regex_match recursed once per character of the topic, so a link
// routing a 40,000-character topic died with SIGSEGV (and again after every restart, the record
// being in the journal). RE2 matches in linear time without recursion.
TEST_CASE("routing: a 40,000-character topic is matched without recursion") {
  const std::string long_topic = "orders." + std::string(40000 - 7, 'x');
  REQUIRE(long_topic.size() == 40000);
  destination_route all{"B", ".*", no_passthrough};
  destination_route orders{"B", "orders\\..*", no_passthrough};
  destination_route alternation{"B", "(orders|x|\\.)*", no_passthrough};
  destination_route other{"B", "payments\\..*", no_passthrough};
  CHECK(all.admits(direct(long_topic)));
  CHECK(orders.admits(direct(long_topic)));
  CHECK(alternation.admits(direct(long_topic)));
  CHECK_FALSE(other.admits(direct(long_topic)));
  // The journal's longest topic, too, and as a passthrough subject.
  const std::string longest(65535, 'g');
  CHECK(all.admits(direct(longest)));
  destination_route forward{"C", ".*", {"g*"}};
  const std::vector<std::string> path{"A"};
  CHECK(forward.admits(replicated("A", long_topic, path, longest)));
  // Long subjects are matched every time, never stored: the cache stays small by bytes.
  CHECK(all.topic_cache_size() == 0);
  CHECK(orders.topic_cache_misses() == 1);
}

TEST_CASE("routing: a topic at the cache's subject limit is cached, one byte longer is not") {
  destination_route r{"B", "a*", no_passthrough};
  const std::string at_limit(regex_match_cache::max_cached_subject_bytes, 'a');
  const std::string over_limit(regex_match_cache::max_cached_subject_bytes + 1, 'a');
  CHECK(r.admits(direct(at_limit)));
  CHECK(r.admits(direct(at_limit)));
  CHECK(r.topic_cache_size() == 1);
  CHECK(r.topic_cache_hits() == 1);
  CHECK(r.admits(direct(over_limit)));
  CHECK(r.admits(direct(over_limit)));
  CHECK(r.topic_cache_size() == 1);
  CHECK(r.topic_cache_hits() == 1);
  CHECK(r.topic_cache_misses() == 3);
}

// The subscription actor matches a client's pattern through regex_match_cache (actors/subscription.cpp).
// A backtracking engine takes exponential time on (a+)+b against "aaa...a" (and std::regex also
// recursed per character); RE2 answers in linear time.
TEST_CASE("subscription pattern: (a+)+b against a 40,000-character topic returns quickly and correctly") {
  regex_match_cache sub{"(a+)+b"};
  const std::string no_b(40000, 'a');
  const std::string with_b = std::string(40000, 'a') + "b";
  const auto start = std::chrono::steady_clock::now();
  CHECK_FALSE(sub.matches(no_b));
  CHECK(sub.matches(with_b));
  CHECK_FALSE(sub.matches(std::string(30, 'a')));
  const auto took = std::chrono::steady_clock::now() - start;
  // Linear: a few milliseconds even on a loaded machine; a backtracking engine needs 2^30 steps
  // for the 30-character subject alone.
  CHECK_MESSAGE(took < std::chrono::seconds{2},
                "took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
}

TEST_CASE("patterns are bytes: the default .* admits any topic, invalid UTF-8 and the empty topic included") {
  destination_route all{"B", ".*", no_passthrough};
  CHECK(all.admits(direct(std::string{"caf\xe9"})));
  CHECK(all.admits(direct(std::string{"\xff\xfe"})));
  CHECK(all.admits(direct("")));
  destination_route utf8_literal{"B", "caf\xc3\xa9", no_passthrough};
  CHECK(utf8_literal.admits(direct("caf\xc3\xa9")));
  CHECK_FALSE(utf8_literal.admits(direct("cafe")));
  // The newline is the one byte . does not match (as in the ECMAScript dialect before).
  CHECK_FALSE(all.admits(direct("a\nb")));
}

TEST_CASE("an invalid pattern is a programming error: the route constructor throws") {
  CHECK_THROWS_AS(destination_route("B", "orders.(", no_passthrough), std::invalid_argument);
  CHECK_THROWS_AS(regex_match_cache("(a)\\1"), std::invalid_argument);
}

TEST_CASE("refill: the destination's own records below its journal base go back to it, nothing else does") {
  destination_route to_a{"A", ".*", no_passthrough};
  const std::vector<std::string> from_a{"A"};
  route_input old_own{"A", "t", from_a, "ga", 41};
  route_input new_own{"A", "t", from_a, "ga", 1000};
  // Base unknown (0): never echoed back.
  CHECK_FALSE(to_a.admits(old_own));
  // Base 1 (a journal that never lost anything): nothing is below it.
  to_a.set_destination_base(1);
  CHECK_FALSE(to_a.admits(old_own));
  // A restarted empty with base 1000: its records below 1000 are refilled, the rest are not.
  to_a.set_destination_base(1000);
  CHECK(to_a.admits(old_own));
  CHECK_FALSE(to_a.admits(new_own));
  CHECK_FALSE(to_a.admits({"A", "t", from_a, "ga", 1001}));
  // A in the path beyond the origin: A held it after someone else did; not refilled.
  const std::vector<std::string> via{"A", "C", "A"};
  CHECK_FALSE(to_a.admits({"A", "t", via, "ga", 41}));
  // Other origins are unaffected: B's own record still goes, C's record via A still does not.
  CHECK(to_a.admits({"B", "t", {}, {}, 5}));
  const std::vector<std::string> c_via_a{"C", "A"};
  CHECK_FALSE(to_a.admits({"C", "t", c_via_a, "ga", 5}));
  // The topic filter still applies.
  destination_route filtered{"A", "orders\\..*", no_passthrough};
  filtered.set_destination_base(1000);
  CHECK(filtered.admits({"A", "orders.x", from_a, "ga", 41}));
  CHECK_FALSE(filtered.admits({"A", "audit.x", from_a, "ga", 41}));
}

// Issue 17 part 2: a destination that is a group of servers {B1, B2}.
TEST_CASE("group destination: a record whose origin or path holds ANY instance of the group is not sent to it") {
  destination_route to_b{std::vector<std::string>{"B1", "B2"}, ".*", {".*"}};
  CHECK(to_b.admits({"A", "t", {}, {}, 1})); // published here
  const std::vector<std::string> from_b1{"B1"};
  const std::vector<std::string> b2_via_b1{"B2", "B1"};
  const std::vector<std::string> c_via_b2{"C", "B2"};
  const std::vector<std::string> from_c{"C"};
  CHECK_FALSE(to_b.admits({"B1", "t", from_b1, "gb", 1}));   // B1's own record: never to B2 either
  CHECK_FALSE(to_b.admits({"B2", "t", b2_via_b1, "gb", 1})); // came from the group
  CHECK_FALSE(to_b.admits({"C", "t", c_via_b2, "gb", 1}));   // passed through B2
  CHECK(to_b.admits({"C", "t", from_c, "gc", 1}));           // passthrough of another group
  // The old single-instance rule checked only the destination's name: B1's record went to "B".
  destination_route by_name{"B", ".*", {".*"}};
  CHECK(by_name.admits({"B1", "t", from_b1, "gb", 1}));
}

TEST_CASE("group destination: refill goes to the serving instance only, for its own earlier records") {
  destination_route to_b{std::vector<std::string>{"B1", "B2"}, ".*", no_passthrough};
  CHECK(to_b.destination() == "B1");
  const std::vector<std::string> from_b1{"B1"};
  const std::vector<std::string> from_b2{"B2"};
  to_b.set_serving_instance("B2");
  to_b.set_destination_base(1000); // B2 lost its journal
  CHECK(to_b.admits({"B2", "t", from_b2, "gb", 41}));      // B2's own earlier record goes back to it
  CHECK_FALSE(to_b.admits({"B1", "t", from_b1, "gb", 41})); // B1's record is never refilled to B2
  const std::vector<std::string> b2_via_b1{"B2", "B1"};
  CHECK_FALSE(to_b.admits({"B2", "t", b2_via_b1, "gb", 41})); // another instance of the group held it
  to_b.set_serving_instance("X");                              // not of the group: ignored
  CHECK(to_b.destination() == "B2");
  CHECK_THROWS_AS(destination_route(std::vector<std::string>{}, ".*", no_passthrough), std::invalid_argument);
}
