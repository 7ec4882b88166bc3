#include <doctest/doctest.h>

#include "actors/logic/identity_conflicts.hpp"

using namespace tandem::logic;

namespace {
identity_conflict facts(const std::string& refused_address) { return {"k", "1.1.1.1:1", "r", refused_address}; }
} // namespace

TEST_CASE("identity_conflicts: logged at most once a minute per name, the line counts what it covers") {
  identity_conflicts c;
  CHECK(c.refused("B", facts("2.2.2.2:1"), 1'000) == 1u);
  CHECK_FALSE(c.refused("B", facts("2.2.2.2:2"), 2'000));
  CHECK_FALSE(c.refused("B", facts("2.2.2.2:3"), 60'999));
  CHECK(c.refused("C", facts("3.3.3.3:1"), 61'000) == 1u); // another name has its own minute
  CHECK(c.refused("B", facts("2.2.2.2:4"), 61'000) == 3u); // this one and the two unlogged
  CHECK_FALSE(c.refused("B", facts("2.2.2.2:5"), 61'001));
  const auto& b = c.by_name().at("B");
  CHECK(b.count == 5);
  CHECK(b.first_unix_ms == 1'000);
  CHECK(b.last_unix_ms == 61'001);
  CHECK(b.refused_address == "2.2.2.2:5");
  CHECK(b.kept_id == "k");
  CHECK(c.total() == 6);
}

TEST_CASE("identity_conflicts: at most max_names names; the one seen longest ago goes first") {
  identity_conflicts c{2};
  c.refused("A", facts("x"), 10);
  c.refused("B", facts("x"), 20);
  c.refused("A", facts("x"), 30);
  c.refused("C", facts("x"), 40); // limit + 1: B (last seen at 20) is forgotten
  CHECK(c.by_name().size() == 2);
  CHECK(c.by_name().count("A") == 1);
  CHECK(c.by_name().count("C") == 1);
  CHECK(c.total() == 4);
  // at time 0 too, the first refusal of a name is logged, and the next not within the minute
  identity_conflicts z;
  CHECK(z.refused("B", facts("x"), 0) == 1u);
  CHECK_FALSE(z.refused("B", facts("x"), 5));
}

TEST_CASE("identity_refusals: a node refused by a peer logs at most once a minute and counts every refusal") {
  identity_refusals r;
  CHECK(r.refused(-5) == 1u); // any first time logs, whatever the clock says
  CHECK_FALSE(r.refused(10));
  CHECK_FALSE(r.refused(59'994));
  CHECK(r.refused(59'995) == 3u);
  CHECK(r.total() == 4);
}
