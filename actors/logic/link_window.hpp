// Sender-side state of one destination link: what has been read, sent and confirmed. No I/O.
//
// Replication model: see routing.hpp. The parts this class relies on:
//   * The link of node X to destination D reads X's journal in seq order; records routing
//     rejects are skipped, the rest go to D in batches carrying their X-local seqs.
//   * D acks with durable_ack{seq}: the highest X-local seq such that every record up to it that
//     D received is durable there. D's FIRST durable_ack on a connection is its resume point: the
//     highest X-local seq it durably holds (the hello's durable_from_peer is sent as 0 and not
//     used; docs/protocol.md). Where the link resumes from there is logic/resume_decision.hpp's
//     one decision; on_connected() applies it.
//
// Positions (all X-local seqs):
//   acked()      COVERAGE confirmed for this destination, monotonic for the node's lifetime:
//                every record up to it is durable at D or was filtered out for D. This is what
//                the ack_tracker and the journal's retention see.
//   confirmed()  the same, for the current connection: where a resend starts. It can drop below
//                acked() when a peer's resume point says it holds less than we thought
//                (it lost its disk, or it is a different server of the same destination group):
//                the peer is the truth about what it holds, so we resend from there rather than
//                skip records it never got.
//   next_read()  next seq to read from the journal.
//
// Worked example. Journal seqs 1..10; D's topic filter admits 3, 5 and 9.
//   on_connected(0)                          next_read 1 (decide_resume: continue_at_peer)
//   read 1..6, send {3,5}: on_batch_sent({.last_sent_seq=5, .records=2, .bytes=..,
//                                         .coverage_after=6})                      next_read 7
//   read 7..8, nothing admitted: on_read(8)  batch still in flight, so its coverage becomes 8
//   on_ack(5)                                acked 8 (5 was the last record sent, 6..8 filtered)
//   read 9..10, send {9} with coverage 10, then disconnect: next_read 9 (= confirmed 8 + 1),
//   and the re-read of 9..10 counts 2 in counters().resends.
//
// Call contract, per read from the journal: call on_batch_sent for each batch sent, OR on_read
// when the read admitted nothing (never on_read BEFORE on_batch_sent for the same read: with
// nothing in flight, on_read declares everything up to its seq covered). on_read for seqs
// already read is a no-op, so calling it after the batches of the same read is harmless.
// Acks for seqs never sent on this connection, at or below confirmed(), or arriving while
// disconnected are ignored and counted. (An ack ABOVE ack_bound() is a claim the peer cannot
// make: the link checks it with peer_claims.hpp and closes the connection before calling on_ack.)
//
// Unsendable records. A record routing admits whose encoding does not fit one record_batch frame
// (journaled by an older version, or replicated in from a peer with a larger frame limit) cannot
// be sent. The link calls on_unsendable(seq) for it instead of sending anything more: coverage
// never passes seq - 1 (the destination does not hold it, so neither the ack rule nor retention
// may count it as held), and the link stops there -- can_send() stays false, nothing after it is
// read -- since a peer's position is only meaningful for a prefix sent in seq order (the resume
// rule of resume_decision.hpp). Example: seqs 1..5, 3 too large:
//   read 1..5: send {1,2} with coverage 2, on_unsendable(3)    next_read 3, blocked_at 3
//   on_ack(2)                                                  acked 2, never 3 or more
// A reconnect re-reads from confirmed() + 1 and meets the record again (counted once per seq);
// a peer whose resume point says it holds the record already (confirmed() >= seq) lifts the block.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <deque>
#include <optional>

#include "actors/logic/resume_decision.hpp"

namespace tandem::logic {

// A link's in-flight floor: its share of the node-wide total, never more than the per-destination
// bound nor less than 256 KiB (config: limits.max_in_flight_bytes and _total). window_sizer.hpp
// grows the bound above it from the measured ack turn (set_max_in_flight_bytes).
std::uint64_t link_in_flight_share(std::uint64_t per_destination, std::uint64_t total, std::size_t destinations);

struct sent_batch {
  std::uint64_t last_sent_seq = 0;  // X-local seq of the batch's last record
  std::uint64_t records = 0;        // records in the batch
  std::uint64_t bytes = 0;          // counted against max_in_flight_bytes until acked
  std::uint64_t coverage_after = 0; // >= last_sent_seq: read position the batch covers (the
                                    // records after last_sent_seq up to here were filtered out)
};

struct link_counters {
  std::uint64_t batches_sent = 0;
  std::uint64_t records_sent = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t acks = 0;         // acks that freed at least one batch
  std::uint64_t ignored_acks = 0; // stale, never-sent or while disconnected
  std::uint64_t resends = 0;      // journal seqs read again after a disconnect or a go-back
  std::uint64_t unsendable = 0;   // distinct records on_unsendable() stopped at
};

class link_window {
public:
  // initial_acked: coverage known from before (e.g. the journal's stored acknowledgement for
  // this destination), 0 for none.
  explicit link_window(std::uint64_t max_in_flight_bytes, std::uint64_t initial_acked = 0);

  // The peer's resume point arrived and decide_resume(), given coverage(), answered `d` (never
  // claim_beyond_head: that closes the connection instead). Drops anything still in flight and
  // reads next from d.resume_after + 1; a below_retention gap counts as read (and as resent if
  // it had been read before), exactly as on_read(d.skipped.last) would. Returns the new acked()
  // if it advanced.
  std::optional<std::uint64_t> on_connected(const resume_decision& d);
  // Shorthand for tests and callers without a journal: decide_resume() for a peer at
  // peer_holds with no head, base or retention bound (base 1, nothing trimmed), then apply it.
  std::optional<std::uint64_t> on_connected(std::uint64_t peer_holds);
  // What decide_resume() needs to know of this link (resume_decision.hpp, "covered").
  link_coverage coverage() const noexcept { return {confirmed_, sent_confirmed_, refill_}; }
  // The destination's routing changed under the covered position (it is a new journal
  // incarnation: its own earlier records, filtered so far, are now routed back to it): records
  // counted as covered because they were filtered may have to be sent after all, so the next
  // resume takes the peer's position as it is (resume_reason::refill).
  void forget_filtered() noexcept { refill_ = true; }
  void on_disconnected();

  bool can_send() const noexcept {
    return connected_ && in_flight_bytes_ < max_in_flight_bytes_ && !stopped();
  }

  // A journal read up to and including up_to_seq that admitted no record. Returns the new
  // acked() if coverage advanced (nothing was in flight).
  std::optional<std::uint64_t> on_read(std::uint64_t up_to_seq);
  void on_batch_sent(const sent_batch& batch);
  // durable_ack{seq}: frees the batches with last_sent_seq <= seq. Returns the new acked() if
  // it advanced.
  std::optional<std::uint64_t> on_ack(std::uint64_t seq);
  // The record at `seq` (>= next_read(), admitted by routing) cannot be sent: see "Unsendable
  // records" above. Records read before it count as by on_read(seq - 1). Returns the new acked()
  // if it advanced (never past seq - 1).
  std::optional<std::uint64_t> on_unsendable(std::uint64_t seq);
  // The seq of the unsendable record the link stopped at, 0 when none.
  std::uint64_t blocked_at() const noexcept { return blocked_at_; }
  // The highest seq the peer can ack on the current connection: the resume point it gave, or the
  // last record sent on this connection if higher. 0 while disconnected.
  std::uint64_t ack_bound() const noexcept { return connected_ ? std::max(resume_point_, highest_sent_) : 0; }

  bool connected() const noexcept { return connected_; }
  std::uint64_t acked() const noexcept { return acked_; }
  std::uint64_t confirmed() const noexcept { return confirmed_; }
  std::uint64_t next_read() const noexcept { return next_read_; }
  std::uint64_t in_flight_bytes() const noexcept { return in_flight_bytes_; }
  std::size_t in_flight_batches() const noexcept { return in_flight_.size(); }
  std::uint64_t max_in_flight_bytes() const noexcept { return max_in_flight_bytes_; }
  // The bound moves with the measured ack turn (window_sizer.hpp). A bound below what is in
  // flight sends nothing more until acks bring it under.
  void set_max_in_flight_bytes(std::uint64_t bytes) noexcept { max_in_flight_bytes_ = bytes; }
  const link_counters& counters() const noexcept { return counters_; }

private:
  struct in_flight_batch {
    std::uint64_t last_sent_seq;
    std::uint64_t coverage_after;
    std::uint64_t bytes;
  };

  void drop_in_flight();
  void note_read(std::uint64_t up_to_seq); // counts re-reads, advances next_read
  std::optional<std::uint64_t> raise_acked();
  bool stopped() const noexcept { return blocked_at_ != 0 && next_read_ == blocked_at_; }

  std::uint64_t max_in_flight_bytes_;
  bool connected_ = false;
  std::uint64_t acked_;
  std::uint64_t confirmed_;
  // Highest seq of a record SENT and confirmed by the peer (by an ack or its resume point). Every
  // record in (sent_confirmed_, confirmed_] was filtered out, which is what lets a resume point
  // between the two resume from confirmed_ without skipping anything.
  std::uint64_t sent_confirmed_;
  bool refill_ = false; // forget_filtered() until the next on_connected()
  std::uint64_t next_read_;
  std::uint64_t highest_read_; // for counting re-reads
  std::deque<in_flight_batch> in_flight_; // invariant: last_sent_seq strictly increasing
  std::uint64_t in_flight_bytes_ = 0;
  std::uint64_t blocked_at_ = 0;    // unsendable record the link stops at; 0: none
  std::uint64_t highest_unsendable_ = 0; // for counting each unsendable record once
  std::uint64_t resume_point_ = 0;  // the peer's value in on_connected, for ack_bound()
  std::uint64_t highest_sent_ = 0;  // last_sent_seq of the newest batch on this connection
  link_counters counters_;
};

} // namespace tandem::logic
