// actors/logic/resume_decision.cpp: one table row per reason, plus how link_window applies it.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "actors/logic/link_window.hpp"
#include "actors/logic/resume_decision.hpp"

using namespace tandem::logic;

namespace {

struct row {
  std::string name;
  resume_input in;
  resume_reason reason;
  std::uint64_t resume_after;
  std::uint64_t peer_position;
  seq_range skipped;
};

// The worked example of resume_decision.hpp: base 1, durable 100, retention kept 41..100 unless
// a row says otherwise; the link had sent up to 30 (acked) and filtered 31..35.
resume_input example(std::uint64_t peer_holds, std::uint64_t first_held = 41) {
  return {.peer_holds = peer_holds, .durable_seq = 100, .base_seq = 1, .first_held = first_held,
          .covered = {.confirmed = 35, .sent_confirmed = 30, .refill = false}};
}

} // namespace

TEST_CASE("decide_resume: one row per reason") {
  auto refill = example(32, 1);
  refill.covered.refill = true;
  auto new_journal = example(7, 501);
  new_journal.durable_seq = 600;
  new_journal.base_seq = 501; // this node's journal was rebuilt; its seqs start at 501
  new_journal.covered = {.confirmed = 500, .sent_confirmed = 500, .refill = false};
  auto refill_ahead = example(60, 1);
  refill_ahead.covered.refill = true;
  const std::vector<row> rows = {
    {"peer at what it confirmed", example(35, 1), resume_reason::continue_at_peer, 35, 35, {}},
    {"peer ahead of what we knew (acks lost with the connection)", example(60, 1),
     resume_reason::continue_at_peer, 60, 60, {}},
    {"peer at the head", example(100, 1), resume_reason::continue_at_peer, 100, 100, {}},
    {"peer between sent and confirmed: the rest was filtered", example(32, 1),
     resume_reason::covered_by_filtering, 35, 32, {}},
    {"peer exactly at the last record sent", example(30, 1), resume_reason::covered_by_filtering, 35, 30, {}},
    {"peer holds less than it confirmed", example(20, 1), resume_reason::peer_holds_less, 20, 20, {}},
    {"peer holds nothing", example(0, 1), resume_reason::peer_holds_less, 0, 0, {}},
    {"refill: filtering coverage counts no more", refill, resume_reason::refill, 32, 32, {}},
    {"refill with the peer ahead: its position as it is", refill_ahead, resume_reason::continue_at_peer, 60, 60, {}},
    {"peer below our journal base", new_journal, resume_reason::before_journal_base, 500, 500, {}},
    {"gap below retention", example(20), resume_reason::below_retention, 40, 20, {21, 40}},
    {"gap of one record", example(39), resume_reason::below_retention, 40, 39, {40, 40}},
    {"no gap when the next record is the oldest held", example(20, 21), resume_reason::peer_holds_less, 20, 20, {}},
    {"everything removed: nothing held", example(20, 101), resume_reason::below_retention, 100, 20, {21, 100}},
    {"filtered coverage is not a gap", example(32, 36), resume_reason::covered_by_filtering, 35, 32, {}},
  };
  for (const auto& r : rows) {
    CAPTURE(r.name);
    const auto d = decide_resume(r.in);
    CHECK(to_string(d.reason) == to_string(r.reason));
    CHECK(d.resume_after == r.resume_after);
    CHECK(d.peer_position == r.peer_position);
    CHECK(d.skipped.first == r.skipped.first);
    CHECK(d.skipped.last == r.skipped.last);
    CHECK_FALSE(d.violation.has_value());
  }
}

TEST_CASE("decide_resume: a claim beyond the head is a protocol violation, at the limit and limit+1") {
  CHECK(decide_resume(example(100)).reason != resume_reason::claim_beyond_head);
  const auto d = decide_resume(example(101));
  CHECK(d.reason == resume_reason::claim_beyond_head);
  REQUIRE(d.violation.has_value());
  CHECK(d.violation->kind == claim_kind::resume_above_journal);
  CHECK(d.violation->claimed == 101);
  CHECK(d.violation->bound == 100);
}

TEST_CASE("decide_resume: with sending before durable (issue 19) the head is the sendable seq, at the limit and limit+1") {
  auto in = example(110);
  in.sent_bound = 110; // written and sent up to 110, durable up to 100
  const auto ok = decide_resume(in);
  CHECK(ok.reason != resume_reason::claim_beyond_head);
  CHECK(ok.resume_after == 110); // the partner holds 101..110 already: not sent again
  in = example(111);
  in.sent_bound = 110;
  const auto d = decide_resume(in);
  REQUIRE(d.violation.has_value());
  CHECK(d.violation->bound == 110);
}

TEST_CASE("every resume reason has its own label") {
  std::vector<std::string> seen;
  for (std::size_t r = 0; r < resume_reason_count; ++r) {
    std::string label{to_string(static_cast<resume_reason>(r))};
    CHECK(label != "unknown");
    for (const auto& s : seen)
      CHECK(s != label);
    seen.push_back(label);
  }
}

TEST_CASE("retention_gap names what retention removed from a read position on") {
  CHECK(retention_gap(10, 10).empty());
  CHECK(retention_gap(10, 5).empty());
  const auto g = retention_gap(10, 15);
  CHECK(g.first == 10);
  CHECK(g.last == 14);
  CHECK(g.size() == 5);
}

TEST_CASE("link_window applies a below_retention decision like a read of the gap") {
  link_window w{1000, 35};
  w.on_connected(35);
  w.on_read(60); // read before the disconnect: a later re-read of 1..60 counts as resends
  w.on_disconnected();
  auto in = example(20);
  in.durable_seq = 100;
  in.covered = w.coverage();
  const auto d = decide_resume(in);
  REQUIRE(d.reason == resume_reason::below_retention);
  CHECK(w.on_connected(d) == std::nullopt); // acked stays 60: coverage never goes back
  CHECK(w.confirmed() == 40);
  CHECK(w.next_read() == 41);
  CHECK(w.ack_bound() == 20); // the peer can ack what it said it holds, nothing of the gap
  CHECK(w.counters().resends == 20); // 21..40 counted as read again, as on_read(40) would
}

TEST_CASE("link_window: a refill resume clears the refill mark") {
  link_window w{1000};
  w.on_connected(10);
  w.on_read(50);
  w.on_disconnected();
  w.forget_filtered();
  CHECK(w.coverage().refill);
  w.on_connected(10);
  CHECK(w.next_read() == 11);
  CHECK_FALSE(w.coverage().refill);
  w.on_read(50); // filtered again for the new incarnation: that coverage counts once more
  w.on_disconnected();
  w.on_connected(20);
  CHECK(w.next_read() == 51);
}

// Issue 17 part 2: a destination group {B1, B2}; B1 served and confirmed up to 60, then its
// connection ended and B2 (which holds only up to 20 of ours) takes over on its own connection.
TEST_CASE("failover to another instance of the group: a lower claim resumes from it, a claim above what was sent "
          "on the new connection still closes it") {
  link_window w{1u << 20, 0};
  REQUIRE(w.on_connected(0).has_value() == false);
  w.on_batch_sent({.last_sent_seq = 60, .records = 60, .bytes = 6000, .coverage_after = 60});
  CHECK(w.on_ack(60) == 60u);
  w.on_disconnected(); // B1's connection ended

  resume_input in{.peer_holds = 20, .durable_seq = 100, .base_seq = 1, .first_held = 1, .covered = w.coverage()};
  auto d = decide_resume(in);
  CHECK(d.reason == resume_reason::peer_holds_less);
  CHECK(d.resume_after == 20);
  CHECK_FALSE(d.violation);
  w.on_connected(d);
  CHECK(w.next_read() == 21); // 21..60 are sent again, to B2
  CHECK(w.acked() == 60);     // what B1 confirmed stays confirmed (coverage is monotonic)
  // B2 acks what was sent to it; an ack above that is a claim it cannot make.
  w.on_batch_sent({.last_sent_seq = 40, .records = 20, .bytes = 2000, .coverage_after = 40});
  CHECK_FALSE(check_ack(40, w.ack_bound()));
  auto violation = check_ack(41, w.ack_bound());
  REQUIRE(violation);
  CHECK(violation->kind == claim_kind::ack_above_sent);
  // A claim above our journal at the takeover is refused outright (the connection is closed).
  in.peer_holds = 101;
  auto beyond = decide_resume(in);
  CHECK(beyond.reason == resume_reason::claim_beyond_head);
  REQUIRE(beyond.violation);
  CHECK(beyond.violation->kind == claim_kind::resume_above_journal);
}
