// actors/logic/publisher_dedup.cpp
#include <doctest/doctest.h>

#include <string>

#include "actors/logic/publisher_dedup.hpp"

using tandem::logic::publisher_dedup;

TEST_CASE("publisher_dedup: a seq at or below the accepted mark is already held") {
  publisher_dedup d;
  CHECK(d.admit("p", 1));
  CHECK(d.admit("p", 2));
  CHECK_FALSE(d.admit("p", 2)); // a resend racing its original: not durable yet, still held
  CHECK_FALSE(d.admit("p", 1));
  CHECK(d.admit("p", 5)); // gaps are fine
  CHECK_FALSE(d.admit("p", 4));
  CHECK(d.admit("q", 1)); // marks are per publisher
  CHECK(d.accepted("p") == 5);
  CHECK(d.durable("p") == 0);
}

TEST_CASE("publisher_dedup: publisher_seq 0 is never held and never raises a mark") {
  publisher_dedup d;
  CHECK(d.admit("p", 0));
  CHECK(d.admit("p", 0));
  d.on_durable("p", 0);
  d.on_safe("p", 0);
  CHECK(d.publishers() == 0);
  CHECK(d.admit("p", 1));
  CHECK(d.admit("p", 0));
  CHECK(d.is_safe("p", 0));
}

TEST_CASE("publisher_dedup: logon reports the safe mark, not what is only accepted or durable") {
  publisher_dedup d;
  CHECK(d.logon_mark("p") == 0);
  REQUIRE(d.admit("p", 3));
  CHECK(d.logon_mark("p") == 0);
  d.on_durable("p", 3); // durable here, a sync destination may still lack it
  CHECK(d.logon_mark("p") == 0);
  CHECK_FALSE(d.is_safe("p", 3));
  d.on_safe("p", 3);
  CHECK(d.logon_mark("p") == 3);
  CHECK(d.is_safe("p", 2));
  CHECK_FALSE(d.is_safe("p", 4));
  d.on_safe("p", 1); // marks never go down
  CHECK(d.logon_mark("p") == 3);
}

TEST_CASE("publisher_dedup: a failed append drops accepted back to durable, so the resend is stored") {
  publisher_dedup d;
  REQUIRE(d.admit("p", 1));
  d.on_durable("p", 1);
  REQUIRE(d.admit("p", 2));
  REQUIRE(d.admit("q", 7));
  d.on_append_failed();
  CHECK(d.admit("p", 2));
  CHECK(d.admit("q", 7));
  CHECK_FALSE(d.admit("p", 1));
}

TEST_CASE("publisher_dedup: startup load; unsafe records become safe once the ack rule's bound passes them") {
  publisher_dedup d;
  d.load("p", 1, 1, true);
  d.load("p", 2, 2, true);
  d.load("p", 3, 3, false); // local, not yet acked by a sync destination
  d.load("q", 9, 4, true);  // replicated
  d.load("p", 4, 5, false);
  d.load("r", 0, 6, false); // exempt
  CHECK(d.accepted("p") == 4);
  CHECK(d.durable("p") == 4);
  CHECK(d.logon_mark("p") == 2);
  CHECK(d.logon_mark("q") == 9);
  CHECK(d.unsafe_at_startup() == 1); // one entry per publisher: its newest
  CHECK_FALSE(d.admit("p", 4));
  d.on_release_bound(4);
  CHECK(d.logon_mark("p") == 2);
  d.on_release_bound(5);
  CHECK(d.logon_mark("p") == 4);
  CHECK(d.unsafe_at_startup() == 0);
}

TEST_CASE("publisher_dedup: bounded; the least recently used id is evicted and forgotten") {
  publisher_dedup d{2};
  REQUIRE(d.admit("a", 5));
  REQUIRE(d.admit("b", 5));
  CHECK(d.logon_mark("a") == 0); // touches a: b is now the least recently used
  REQUIRE(d.admit("c", 1));
  CHECK(d.publishers() == 2);
  CHECK(d.evictions() == 1);
  CHECK(d.accepted("b") == 0);
  CHECK(d.admit("b", 5)); // forgotten: a resend would be stored again (a duplicate, never a loss)
  CHECK(d.evictions() == 2);
  CHECK(d.accepted("a") == 0); // a was the least recently used this time
  CHECK(d.accepted("c") == 1);
}

TEST_CASE("publisher_dedup: evicting an id with an unsafe startup record drops that record from the tail") {
  publisher_dedup d{1};
  d.load("a", 3, 10, false);
  CHECK(d.unsafe_at_startup() == 1);
  d.load("b", 1, 11, true);
  CHECK(d.unsafe_at_startup() == 0);
  d.on_release_bound(100);
  CHECK(d.logon_mark("b") == 1);
}

TEST_CASE("publisher_dedup: an evicted id re-created by a later mark catches up") {
  publisher_dedup d{1};
  REQUIRE(d.admit("a", 4));
  REQUIRE(d.admit("b", 1)); // evicts a while its record is in flight
  d.on_safe("a", 4);        // the journal and the ack rule still report it
  CHECK(d.logon_mark("a") == 4);
  CHECK(d.is_safe("a", 4));
  CHECK_FALSE(d.admit("a", 4));
}

TEST_CASE("first_local: the lowest seq published here in this incarnation, submitted or durable") {
  publisher_dedup d;
  CHECK(d.first_local("p") == 0);
  d.note_local_submitted("p", 6);
  CHECK(d.first_local("p") == 6);
  d.on_append_failed(); // the submitted publish may be gone: back to the durable value
  CHECK(d.first_local("p") == 0);
  d.note_local_submitted("p", 7);
  d.note_local("p", 7);
  d.note_local_submitted("p", 9); // higher: no change
  CHECK(d.first_local("p") == 7);
  d.on_append_failed();
  CHECK(d.first_local("p") == 7);
  d.note_local("p", 0); // seq 0 is exempt
  CHECK(d.first_local("p") == 7);
  CHECK(d.first_local("other") == 0);
}
