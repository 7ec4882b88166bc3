#include <doctest/doctest.h>

#include "config/suggest.hpp"

using namespace tandem::config::detail;

TEST_CASE("edit_distance counts insertions deletions substitutions and swaps") {
  CHECK(edit_distance("addresses", "addresses") == 0);
  CHECK(edit_distance("adresses", "addresses") == 1);
  CHECK(edit_distance("snyc", "sync") == 1);
  CHECK(edit_distance("Name", "name") == 0);
  CHECK(edit_distance("", "port") == 4);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("closest_match suggests only plausible typos") {
  std::vector<std::string> keys = {"name", "group", "sync_type", "addresses", "passthrough", "topics", "reconnect"};
  CHECK(closest_match("adresses", keys) == "addresses");
  CHECK(closest_match("synctype", keys) == "sync_type");
  CHECK(closest_match("topic", keys) == "topics");
  CHECK(closest_match("pasthrough", keys) == "passthrough");
  CHECK(closest_match("reconect_policy", keys) == std::nullopt);
  CHECK(closest_match("x", keys) == std::nullopt);
  CHECK(closest_match("colour", keys) == std::nullopt);
  CHECK(closest_match("anything", {}) == std::nullopt);
}
