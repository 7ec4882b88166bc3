// actors/logic/subscription_filter.cpp
#include <doctest/doctest.h>

#include "actors/logic/subscription_filter.hpp"

using tandem::logic::subscription_filter;

TEST_CASE("subscription_filter: an empty bookmark and no time admit everything") {
  subscription_filter f{{}, std::nullopt};
  CHECK(f.admit("a", 1, 0));
  CHECK(f.admit("b", 1, -5));
  CHECK_FALSE(f.waiting_for_time());
}

TEST_CASE("subscription_filter: the bookmark hides what the subscriber saw, per origin") {
  subscription_filter f{{{"a", 3}, {"b", 1}}, std::nullopt};
  CHECK_FALSE(f.admit("a", 1, 0));
  CHECK_FALSE(f.admit("b", 1, 0));
  CHECK_FALSE(f.admit("a", 3, 0));
  CHECK(f.admit("b", 2, 0));
  CHECK(f.admit("a", 4, 0));
  CHECK(f.admit("c", 1, 0)); // absent from the bookmark: all of its records
}

TEST_CASE("subscription_filter: an origin listed twice counts with its highest entry") {
  subscription_filter f{{{"a", 7}, {"a", 2}}, std::nullopt};
  CHECK_FALSE(f.admit("a", 5, 0));
  CHECK(f.admit("a", 8, 0));
}

TEST_CASE("subscription_filter: from time opens at the first record at or after the time, then stays open") {
  subscription_filter f{{}, 100};
  CHECK(f.waiting_for_time());
  CHECK_FALSE(f.admit("a", 1, 50));
  CHECK_FALSE(f.admit("a", 2, 99));
  CHECK(f.admit("a", 3, 100));
  CHECK_FALSE(f.waiting_for_time());
  CHECK(f.admit("b", 1, 10)); // journal order decides from here on, not the timestamp
}

TEST_CASE("subscription_filter: the bookmark applies with a time start too") {
  subscription_filter f{{{"a", 4}}, 100};
  CHECK_FALSE(f.admit("a", 3, 200)); // opens the gate, but the bookmark hides it
  CHECK_FALSE(f.waiting_for_time());
  CHECK_FALSE(f.admit("a", 4, 200));
  CHECK(f.admit("a", 5, 20));
}
