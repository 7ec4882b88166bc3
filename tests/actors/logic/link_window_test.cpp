// actors/logic/link_window.cpp
#include <doctest/doctest.h>

#include <optional>

#include "actors/logic/link_window.hpp"

using namespace tandem::logic;

namespace {

sent_batch batch(std::uint64_t last, std::uint64_t records, std::uint64_t bytes,
                 std::uint64_t coverage) {
  return {.last_sent_seq = last, .records = records, .bytes = bytes, .coverage_after = coverage};
}

} // namespace

TEST_CASE("a link resumes after the last record the peer says it holds (its resume ack)") {
  link_window w{1000};
  CHECK_FALSE(w.can_send()); // not connected
  CHECK(w.on_connected(41) == std::optional<std::uint64_t>{41});
  CHECK(w.next_read() == 42);
  CHECK(w.acked() == 41);
  CHECK(w.can_send());
}

TEST_CASE("the window stops sending at max_in_flight_bytes and reopens on ack") {
  link_window w{100};
  w.on_connected(0);
  w.on_batch_sent(batch(1, 1, 60, 1));
  CHECK(w.can_send());
  w.on_batch_sent(batch(2, 1, 60, 2));
  CHECK_FALSE(w.can_send());
  CHECK(w.in_flight_bytes() == 120);
  CHECK(w.on_ack(1) == std::optional<std::uint64_t>{1});
  CHECK(w.can_send());
  CHECK(w.in_flight_bytes() == 60);
  CHECK(w.counters().batches_sent == 2);
  CHECK(w.counters().records_sent == 2);
  CHECK(w.counters().bytes_sent == 120);
}

TEST_CASE("a read whose records were all filtered out advances coverage at once") {
  link_window w{100};
  w.on_connected(0);
  CHECK(w.on_read(50) == std::optional<std::uint64_t>{50});
  CHECK(w.acked() == 50);
  CHECK(w.next_read() == 51);
}

TEST_CASE("coverage across sent and filtered records advances only when the batch is acked") {
  // The worked example in link_window.hpp: seqs 1..10, only 3, 5 and 9 are admitted.
  link_window w{1000};
  w.on_connected(0);
  w.on_batch_sent(batch(5, 2, 100, 6)); // read 1..6, sent {3,5}
  CHECK(w.on_read(6) == std::nullopt);   // same read again: no-op
  CHECK(w.on_read(8) == std::nullopt);   // 7..8 filtered, batch in flight: waits for it
  CHECK(w.acked() == 0);
  CHECK(w.on_ack(5) == std::optional<std::uint64_t>{8});
  w.on_batch_sent(batch(9, 1, 50, 10));
  CHECK(w.next_read() == 11);
  CHECK(w.on_ack(9) == std::optional<std::uint64_t>{10});
  CHECK(w.in_flight_batches() == 0);
}

TEST_CASE("one ack frees every batch up to it") {
  link_window w{1000};
  w.on_connected(0);
  w.on_batch_sent(batch(3, 3, 10, 4));
  w.on_batch_sent(batch(7, 2, 10, 7));
  w.on_batch_sent(batch(9, 1, 10, 12));
  CHECK(w.on_ack(7) == std::optional<std::uint64_t>{7});
  CHECK(w.in_flight_batches() == 1);
  CHECK(w.in_flight_bytes() == 10);
  CHECK(w.counters().acks == 1);
}

TEST_CASE("a disconnect drops in-flight batches and rereads from acked") {
  link_window w{1000};
  w.on_connected(0);
  w.on_batch_sent(batch(5, 2, 100, 6));
  w.on_read(8);
  w.on_ack(5); // acked 8
  w.on_batch_sent(batch(9, 1, 50, 10));
  w.on_disconnected();
  CHECK_FALSE(w.can_send());
  CHECK(w.in_flight_bytes() == 0);
  CHECK(w.next_read() == 9);
  CHECK(w.on_ack(9) == std::nullopt); // late ack from the dead connection
  w.on_connected(8);
  CHECK(w.next_read() == 9);
  w.on_batch_sent(batch(9, 1, 50, 10));
  CHECK(w.counters().resends == 2);
  CHECK(w.on_ack(9) == std::optional<std::uint64_t>{10});
}

TEST_CASE("a peer reporting less than it confirmed (another server) gets the records resent") {
  link_window w{1000};
  w.on_connected(0);
  w.on_batch_sent(batch(20, 20, 100, 20));
  CHECK(w.on_ack(20) == std::optional<std::uint64_t>{20});
  w.on_disconnected();
  // A different server of the destination group, holding only up to 12.
  CHECK(w.on_connected(12) == std::nullopt); // acked never goes back: publishers were released
  CHECK(w.acked() == 20);
  CHECK(w.confirmed() == 12);
  CHECK(w.next_read() == 13);
  w.on_batch_sent(batch(20, 8, 40, 20));
  CHECK(w.counters().resends == 8);
  CHECK(w.on_ack(20) == std::nullopt); // confirmed catches up to acked, which does not move
  CHECK(w.confirmed() == 20);
  CHECK(w.in_flight_batches() == 0);
}

TEST_CASE("a peer reporting its last received record skips nothing and rereads no filtered tail") {
  link_window w{1000};
  w.on_connected(0);
  w.on_batch_sent(batch(5, 1, 10, 5));
  w.on_read(30); // 6..30 filtered
  w.on_ack(5);
  CHECK(w.acked() == 30);
  w.on_disconnected();
  // The same peer: its resume ack names the last record it got, 5; 6..30 were filtered.
  w.on_connected(5);
  CHECK(w.next_read() == 31);
  // A peer holding more than we knew (its ack was lost in the disconnect) is believed too.
  w.on_disconnected();
  CHECK(w.on_connected(40) == std::optional<std::uint64_t>{40});
  CHECK(w.next_read() == 41);
}

TEST_CASE("stale and never-sent acks are ignored and counted") {
  link_window w{1000};
  w.on_connected(10);
  CHECK(w.on_ack(12) == std::nullopt); // nothing in flight
  w.on_batch_sent(batch(15, 5, 10, 15));
  CHECK(w.on_ack(9) == std::nullopt);  // below acked
  CHECK(w.on_ack(10) == std::nullopt); // at acked
  CHECK(w.on_ack(16) == std::nullopt); // never sent
  CHECK(w.counters().ignored_acks == 4);
  CHECK(w.in_flight_batches() == 1);
  CHECK(w.on_ack(15) == std::optional<std::uint64_t>{15});
  CHECK(w.on_ack(15) == std::nullopt); // duplicate
  CHECK(w.counters().ignored_acks == 5);
}

TEST_CASE("filtered reads while disconnected still count as coverage") {
  link_window w{1000, 7}; // position known from the journal's stored acknowledgement
  CHECK(w.next_read() == 8);
  CHECK(w.on_read(9) == std::optional<std::uint64_t>{9});
  w.on_connected(7); // peer holds 7, which is what it confirmed: 8..9 were filtered
  CHECK(w.next_read() == 10);
}

TEST_CASE("forget_filtered: after a destination's new incarnation the link resumes from what the peer holds") {
  link_window w{1 << 20, 0};
  w.on_connected(100);
  // Everything up to 500 was covered by filtering (nothing sent): the peer confirmed 100.
  w.on_read(500);
  CHECK(w.acked() == 500);
  w.on_disconnected();
  // Same peer, same position: filtered records need no second look.
  w.on_connected(100);
  CHECK(w.next_read() == 501);
  w.on_disconnected();
  // A new incarnation: routing changed, so the covered range is read again from its position.
  w.forget_filtered();
  w.on_connected(100);
  CHECK(w.next_read() == 101);
}

TEST_CASE("unsendable record is never counted as covered (issue 14 defect 2)") {
  // Seqs 1..5 admitted, 3 does not fit a record_batch frame. The old link skipped 3 and sent
  // {4,5}; their ack covered 3 too, so the ack rule released a sync persisted ack for a record
  // the destination never received.
  link_window w{1000};
  w.on_connected(0);
  w.on_batch_sent({.last_sent_seq = 2, .records = 2, .bytes = 100, .coverage_after = 2});
  CHECK(w.on_unsendable(3) == std::nullopt); // batch {1,2} still in flight
  CHECK(w.blocked_at() == 3);
  CHECK(w.next_read() == 3);
  CHECK_FALSE(w.can_send()); // stops there: nothing after 3 is read, so the link does not spin
  CHECK(w.counters().unsendable == 1);
  CHECK(w.on_ack(2) == std::optional<std::uint64_t>{2});
  CHECK(w.acked() == 2);
  CHECK_FALSE(w.can_send()); // the ack freed the window, but the record still cannot go
  CHECK(w.on_ack(5) == std::nullopt); // never sent: ignored
  CHECK(w.acked() == 2);

  // Reconnecting re-reads 3 and stops again, counted once.
  w.on_disconnected();
  w.on_connected(2);
  CHECK(w.next_read() == 3);
  CHECK_FALSE(w.can_send());
  CHECK(w.on_unsendable(3) == std::nullopt);
  CHECK(w.counters().unsendable == 1);
  CHECK(w.acked() == 2);
}

TEST_CASE("unsendable record: filtered records before it are covered, it and what follows are not") {
  link_window w{1000};
  w.on_connected(10);
  // Read 11..20: 11..14 filtered, 15 unsendable; nothing in flight.
  CHECK(w.on_unsendable(15) == std::optional<std::uint64_t>{14});
  CHECK(w.acked() == 14);
  CHECK(w.next_read() == 15);
  CHECK_FALSE(w.can_send());
  // A peer that says it holds 15 already (it got it before the frame limit shrank) lifts the stop.
  w.on_disconnected();
  w.on_connected(15);
  CHECK(w.blocked_at() == 0);
  CHECK(w.can_send());
  CHECK(w.next_read() == 16);
  CHECK(w.acked() == 15);
}

TEST_CASE("unsendable record: a later one is counted again") {
  link_window w{1000};
  w.on_connected(0);
  CHECK(w.on_unsendable(1) == std::nullopt);
  w.on_disconnected();
  w.on_connected(1); // held by the peer after all
  CHECK(w.on_unsendable(7) == std::optional<std::uint64_t>{6});
  CHECK(w.counters().unsendable == 2);
  CHECK(w.blocked_at() == 7);
}
