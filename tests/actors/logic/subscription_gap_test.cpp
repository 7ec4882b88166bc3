#include "actors/logic/subscription_gap.hpp"

#include <doctest/doctest.h>

using tandem::logic::find_gaps;
using tandem::logic::gap_range;
using tandem::logic::held_history;
using tandem::logic::subscription_start;

namespace {

// Base 1, retention removed seqs 1..4768 (the reproduction of issue 14, defect 13).
held_history trimmed() {
  held_history h;
  h.base_seq = 1;
  h.first_held_seq = 4769;
  h.removed_last_seq = 4768;
  h.removed_max_timestamp_ns = 5'000;
  h.removed_origins = {{"A", 3000}, {"B", 1768}};
  return h;
}

subscription_start from_seq(std::uint64_t s) {
  subscription_start st;
  st.from_seq = s;
  return st;
}

subscription_start bookmark(std::vector<std::pair<std::string, std::uint64_t>> b) {
  subscription_start st;
  st.bookmark_given = true;
  st.bookmark = std::move(b);
  return st;
}

} // namespace

TEST_CASE("subscription gap: a start at the oldest record held has no gap") {
  CHECK(find_gaps(trimmed(), from_seq(4769)).empty());
  CHECK(find_gaps(trimmed(), from_seq(9000)).empty());
}

TEST_CASE("subscription gap: a start one below the oldest record held misses exactly that record") {
  auto g = find_gaps(trimmed(), from_seq(4768));
  REQUIRE(g.size() == 1);
  CHECK(g[0] == gap_range{"", 4768, 4768});
  CHECK(g[0].count() == 1);
}

TEST_CASE("subscription gap: subscribe --from 1 after retention names every removed seq") {
  auto g = find_gaps(trimmed(), from_seq(1));
  REQUIRE(g.size() == 1);
  CHECK(g[0] == gap_range{"", 1, 4768});
  CHECK(g[0].count() == 4768);
  CHECK(find_gaps(trimmed(), from_seq(0)) == g); // 0 is below the base like 1
}

TEST_CASE("subscription gap: nothing removed, no gap whatever the start") {
  held_history h;
  h.base_seq = 1'000'000;
  h.first_held_seq = 1'000'000; // seqs below the base never existed here (an earlier incarnation's)
  CHECK(find_gaps(h, from_seq(1)).empty());
  h.removed_origins = {};
  CHECK(find_gaps(h, bookmark({{"A", 5}})).empty());
  subscription_start t;
  t.from_time_ns = 0;
  t.bookmark_given = true;
  CHECK(find_gaps(h, t).empty());
}

TEST_CASE("subscription gap: a start below the incarnation base counts from the base") {
  held_history h = trimmed();
  h.base_seq = 1'000'000;
  h.first_held_seq = 1'004'769;
  h.removed_last_seq = 1'004'768;
  auto g = find_gaps(h, from_seq(1));
  REQUIRE(g.size() == 1);
  CHECK(g[0] == gap_range{"", 1'000'000, 1'004'768});
}

TEST_CASE("subscription gap: bookmark entries below what retention removed, per origin") {
  // A seen to 100 (removed up to 3000): 101..3000. B seen to 1768: nothing missing. C unknown
  // to the journal: nothing removed.
  auto g = find_gaps(trimmed(), bookmark({{"A", 100}, {"B", 1768}, {"C", 5}}));
  REQUIRE(g.size() == 1);
  CHECK(g[0] == gap_range{"A", 101, 3000});
  // The edge: seen up to removed - 1 misses exactly one; seen up to removed misses none.
  g = find_gaps(trimmed(), bookmark({{"A", 2999}, {"B", 1767}}));
  REQUIRE(g.size() == 2);
  CHECK(g[0] == gap_range{"A", 3000, 3000});
  CHECK(g[1] == gap_range{"B", 1768, 1768});
  CHECK(find_gaps(trimmed(), bookmark({{"A", 3000}})).empty());
  // An origin listed twice counts with its highest entry.
  CHECK(find_gaps(trimmed(), bookmark({{"A", 10}, {"A", 3000}})).empty());
  // An empty bookmark asks for "everything held": no gap.
  CHECK(find_gaps(trimmed(), bookmark({})).empty());
}

TEST_CASE("subscription gap: a from-time start older than removed records") {
  subscription_start t;
  t.bookmark_given = true;
  t.from_time_ns = 5'000; // a removed record was stamped exactly then
  auto g = find_gaps(trimmed(), t);
  REQUIRE(g.size() == 1);
  CHECK(g[0] == gap_range{"", 1, 4768});
  t.from_time_ns = 5'001; // every removed record is older
  CHECK(find_gaps(trimmed(), t).empty());
  // With a bookmark only its entries are judged.
  t.from_time_ns = 0;
  t.bookmark = {{"A", 3000}};
  CHECK(find_gaps(trimmed(), t).empty());
  t.bookmark = {{"B", 1}};
  g = find_gaps(trimmed(), t);
  REQUIRE(g.size() == 1);
  CHECK(g[0] == gap_range{"B", 2, 1768});
}
