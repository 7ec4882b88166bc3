// logic/anti_entropy_repair.hpp: the sending side's queue (one repair_batch in flight, ranges
// resumed after a partial read, acks checked), the receiving side's verdicts and record checks,
// and (the exchange) what retention removed on either side is neither divergent nor repaired.
#include "actors/logic/anti_entropy_exchange.hpp"
#include "actors/logic/anti_entropy_repair.hpp"

#include <doctest/doctest.h>

#include <set>

using namespace tandem::logic;
namespace ae = tandem::anti_entropy;
namespace proto = tandem::protocol;

TEST_CASE("repair_sender: one range read in chunks, one repair_batch in flight until its ack") {
  repair_sender s(1000);
  s.add({{"A", 4, 100}, {"A", 200, 200}});
  auto r = s.next();
  REQUIRE(r);
  CHECK(*r == repair_read{"A", 4, 100, 1000});
  CHECK_FALSE(s.next()); // reading
  CHECK(s.on_read(50, 47));
  CHECK_FALSE(s.next()); // awaiting the ack
  CHECK(s.on_ack(47, 47).empty());
  CHECK(s.take_answered() == repair_answer{{"A", 4, 50}, 47}); // what the batch covered, for the session
  CHECK_FALSE(s.take_answered());                               // once
  r = s.next();
  REQUIRE(r);
  CHECK(*r == repair_read{"A", 51, 100, 1000}); // resumes after the chunk
  CHECK(s.on_read(100, 50));
  CHECK(s.on_ack(50, 10).empty());
  CHECK(s.take_answered() == repair_answer{{"A", 51, 100}, 10});
  r = s.next();
  REQUIRE(r);
  CHECK(r->first == 200);
  CHECK_FALSE(s.on_read(200, 0)); // nothing held any more: nothing sent
  CHECK_FALSE(s.next());
  const auto f = s.figures();
  CHECK(f.records_sent == 97);
  CHECK(f.records_stored == 57);
  CHECK(f.batches_sent == 2);
  CHECK(f.queued == 0);
}

TEST_CASE("repair_sender: an ack nobody awaits, or with another count, is a violation") {
  repair_sender s(1000);
  CHECK(s.on_ack(1, 1).find("answers no repair_batch") != std::string::npos);
  s.add({{"A", 1, 3}});
  REQUIRE(s.next());
  CHECK(s.on_read(3, 3));
  CHECK(s.on_ack(4, 4).find("carried 3") != std::string::npos);
  CHECK_FALSE(s.take_answered()); // a violation answers nothing
  CHECK(s.busy());                // still awaiting the right one
  CHECK(s.on_ack(3, 0).empty());
  CHECK_FALSE(s.busy());
  CHECK(s.take_answered() == repair_answer{{"A", 1, 3}, 0}); // stored none: held there
}

TEST_CASE("repair_sender: the queue is bounded; a failed read or a disconnect drops ranges, counted") {
  repair_sender s(10, 2);
  s.add({{"A", 1, 1}, {"A", 3, 3}, {"A", 5, 5}, {"A", 9, 8}}); // the third over the bound; 9..8 names nothing
  CHECK(s.figures().queued == 2);
  CHECK(s.figures().ranges_dropped == 1);
  REQUIRE(s.next());
  s.on_read_failed();
  CHECK(s.figures().ranges_dropped == 2);
  REQUIRE(s.next());
  CHECK(s.on_read(3, 1));
  s.on_disconnected();
  CHECK_FALSE(s.busy());
  CHECK(s.on_ack(1, 1).find("answers no repair_batch") != std::string::npos);
  CHECK(s.figures().queued == 0);
}

TEST_CASE("check_repair_record: own origin and echoes refused, anything else accepted") {
  const std::vector<std::string_view> none, via_b{"B"}, via_me{"C", "A"};
  struct row { std::string_view origin; std::span<const std::string_view> path; bool ok; };
  for (const auto& r : std::vector<row>{{"B", none, true}, {"C", via_b, true}, {"A", none, false}, {"B", via_me, false}}) {
    CAPTURE(r.origin);
    CHECK(check_repair_record("A", r.origin, r.path).empty() == r.ok);
  }
}

TEST_CASE("repair_verdicts: store what the journal lacks, once; drop what it holds or retention removed") {
  const std::set<std::pair<std::string, std::uint64_t>> held{{"B", 5}};
  const std::uint64_t removed_through = 2; // B:1..2 removed by retention: count as held
  auto is_held = [&](std::string_view o, std::uint64_t s) {
    return s <= removed_through || held.count({std::string{o}, s}) > 0;
  };
  const std::vector<inbound_record> in{{0, "B", 2}, {0, "B", 3}, {0, "B", 5}, {0, "B", 3}, {0, "C", 5}};
  const auto v = repair_verdicts(in, is_held);
  CHECK(v == std::vector<verdict>{verdict::duplicate, verdict::store, verdict::duplicate, verdict::duplicate,
                                  verdict::store});
}

namespace {

// What a node holding "A" 1..100 except [gap_from, gap_to] replies; `removed` as its retention.
proto::digest_reply holding(const proto::digest_request& f, std::uint64_t gap_from, std::uint64_t gap_to,
                            std::uint64_t removed) {
  ae::digest_builder b(ae::from_frame(f));
  for (std::uint64_t s = 1; s <= 100; ++s)
    if (s < gap_from || s > gap_to)
      b.add("A", s, 7);
  proto::digest_reply r;
  r.request_id = f.request_id;
  r.removed_through = removed;
  ae::fill_reply(b.result(), r);
  return r;
}

// Runs one comparison of A:1..100: this node holds all, the peer lacks [gap_from, gap_to] and
// says its retention removed up to peer_removed.
anti_entropy_exchange compare(std::uint64_t gap_from, std::uint64_t gap_to, std::uint64_t peer_removed) {
  anti_entropy_exchange x({.interval_ms = 1000});
  x.session().on_connected(6, 0);
  auto frames = x.issue(x.session().due(0, {{"A", 1, 100}}));
  for (int guard = 0; !frames.empty() && guard < 100; ++guard) {
    const auto f = frames.back();
    frames.pop_back();
    auto a = x.on_local(holding(f, 0, 0, 0));
    auto b = x.on_peer(holding(f, gap_from, gap_to, peer_removed));
    frames.insert(frames.end(), a.next.begin(), a.next.end());
    frames.insert(frames.end(), b.next.begin(), b.next.end());
  }
  REQUIRE(x.outstanding() == 0);
  return x;
}

} // namespace

TEST_CASE("anti_entropy: a range the peer's retention removed is neither divergent nor repaired") {
  auto x = compare(1, 30, 30);
  CHECK(x.session().figures().divergent_records == 0);
  CHECK(x.session().take_repairs().empty());
}

TEST_CASE("anti_entropy: a lost range straddling the peer's retention is repaired above it only") {
  auto x = compare(1, 40, 30);
  CHECK(x.session().figures().divergent_records == 10);
  CHECK(x.session().take_repairs() == std::vector<anti_entropy_repair>{{"A", 31, 40}});
  auto y = compare(41, 50, 30); // a loss above the removed range: repaired whole
  CHECK(y.session().take_repairs() == std::vector<anti_entropy_repair>{{"A", 41, 50}});
}

TEST_CASE("repair_index: held origin_seqs and messages as intervals, merged in any order") {
  repair_index idx;
  for (std::uint64_t s : {1, 2, 3, 7, 5, 6, 4}) // out of order: ends as one interval 1..7
    idx.add("A", s, "p", s + 100);
  CHECK(idx.entries() == 4); // names A and p, one interval each
  for (std::uint64_t s = 1; s <= 7; ++s) {
    CHECK(idx.holds("A", s));
    CHECK(idx.holds_message("p", s + 100));
  }
  CHECK_FALSE(idx.holds("A", 0));
  CHECK_FALSE(idx.holds("A", 8));
  CHECK_FALSE(idx.holds("B", 1));             // another origin
  CHECK_FALSE(idx.holds_message("p", 100));
  CHECK_FALSE(idx.holds_message("q", 101));   // another publisher
  idx.add("A", 10, "", 0);                    // a gap: a second interval; no publisher_seq: no message
  CHECK(idx.entries() == 5);
  CHECK(idx.holds("A", 10));
  CHECK_FALSE(idx.holds("A", 9));
  CHECK_FALSE(idx.holds_message("", 0));
  idx.add("A", 9, "", 0);                     // joins the interval after it: 9..10
  CHECK(idx.entries() == 5);
  CHECK(idx.holds("A", 9));
  CHECK_FALSE(idx.holds("A", 8));
  idx.add("A", 8, "", 0);                     // fills the gap: 1..10, one interval again
  CHECK(idx.entries() == 4);
  CHECK(idx.holds("A", 8));
  idx.add("A", 3, "p", 103);                  // held already: nothing changes
  CHECK(idx.entries() == 4);
  idx.set_scanned_through(42);
  idx.clear();
  CHECK(idx.entries() == 0);
  CHECK(idx.scanned_through() == 0);
  CHECK_FALSE(idx.holds("A", 1));
}

TEST_CASE("repair_index: overflowed beyond max_entries (at the limit still usable)") {
  repair_index idx(4);
  idx.add("A", 1, "p", 1); // 2 names + 2 intervals = 4: at the limit
  CHECK(idx.entries() == 4);
  CHECK_FALSE(idx.overflowed());
  idx.add("A", 3, "", 0); // limit + 1: a sparse journal (or a hostile publisher) cannot grow it unseen
  CHECK(idx.entries() == 5);
  CHECK(idx.overflowed());
  idx.clear();
  CHECK_FALSE(idx.overflowed());
}
