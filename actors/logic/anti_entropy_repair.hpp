// Anti-entropy repair (issue 17, part 7; protocol 1.6 repair_batch / repair_ack): re-sending the
// records a comparison (anti_entropy_session.hpp) found this node holds and the peer lacks, and
// storing them on the peer although they lie below its inbound dedup's high-water mark.
// Plain C++: no I/O, no clock. The link (destination_link.cpp) drives repair_sender; the digest
// scanner (digest_scanner.hpp) applies repair_verdicts on the receiving node.
//
// Why a separate path. Inbound dedup (inbound_dedup.hpp) drops every record of an origin at or
// below the highest origin_seq held, which is exactly where a lost range lies; and the link's
// window (link_window.hpp) only moves forward. A repair therefore travels outside both:
//   * sending side (repair_sender): the ranges queue per link; one range is read at a time from
//     this node's journal (by the digest scanner: a detached scan, at most max_batch_bytes of
//     records), sent as ONE repair_batch, and the next read starts only once the peer's
//     repair_ack came back: at most one repair_batch (<= max_batch_bytes, <= max_frame_bytes) is
//     in flight per link. Repairs never touch the window's acked / resume positions or the sync
//     ack bookkeeping: a repaired record was acknowledged long ago.
//   * receiving side (repair_verdicts): a record is stored when the journal does not hold it --
//     decided by reading the journal (digest scanner), never by trusting the peer -- and dropped
//     when it does, or when retention removed its origin_seq (what retention removed is not
//     resurrected). Check, append and durable wait run one repair at a time on the scanner's
//     thread, so two repairs of one record cannot both store it.
//
// Worked example: A holds A:1..10, B lost A:4..6 (B's high-water for A is 10). A's comparison
// finds missing_right [4,6]; repair_sender::add -> next() = read A:4..6; the scan yields 3
// records (through 6) -> on_read(6, 3) -> A sends repair_batch{A:4, A:5, A:6}; B reads its
// journal: none held -> stores all 3 -> repair_ack{3, 3} -> on_ack(3, 3): idle, the queue empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "actors/logic/anti_entropy_session.hpp"
#include "actors/logic/inbound_dedup.hpp"

namespace tandem::logic {

// One read of a repair range: at most max_bytes of record bytes, from `first` on.
struct repair_read {
  std::string origin;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::size_t max_bytes = 0;
  friend bool operator==(const repair_read&, const repair_read&) = default;
};

struct repair_figures {
  std::uint64_t records_sent = 0;   // in repair_batch frames (tandem_repaired_records_total)
  std::uint64_t records_stored = 0; // of those, stored by the peer (its repair_acks)
  std::uint64_t batches_sent = 0;
  std::uint64_t ranges_dropped = 0; // queue full, read failed or disconnected: found again later
  std::size_t queued = 0;           // ranges waiting (the one in progress included)
};

// What one answered repair_batch covered (origin_seqs first..last of origin; the records this
// node holds in it were sent) and how many the peer stored: anti_entropy_session::on_repaired.
struct repair_answer {
  anti_entropy_repair covered;
  std::uint64_t stored = 0;
  friend bool operator==(const repair_answer&, const repair_answer&) = default;
};

class repair_sender {
public:
  static constexpr std::size_t default_max_ranges = 256;
  explicit repair_sender(std::size_t max_batch_bytes, std::size_t max_ranges = default_max_ranges);

  // Ranges a finished comparison found; beyond max_ranges queued they are dropped (counted):
  // the next comparison finds them again.
  void add(const std::vector<anti_entropy_repair>& found);
  // The read to do now: the front range, when nothing is being read or waits for its ack.
  std::optional<repair_read> next();
  // The read of next() covered origin_seqs up to `through` (first-1 when it read nothing) and
  // yielded `records` records. True: send them as one repair_batch, then wait for on_ack().
  // False: nothing to send; call next() again.
  bool on_read(std::uint64_t through, std::size_t records);
  void on_read_failed(); // the front range is dropped (counted)
  // The peer's repair_ack. Empty when it answers the batch in flight; otherwise the violation
  // (no batch awaits an ack, or it counts another number of records than were sent).
  std::string on_ack(std::uint64_t records, std::uint64_t stored);
  // The batch the latest good on_ack() answered, once.
  std::optional<repair_answer> take_answered();
  void on_disconnected(); // everything queued or in flight dropped (counted)

  bool busy() const noexcept { return stage_ != stage::idle; }
  repair_figures figures() const;

private:
  enum class stage { idle, reading, awaiting_ack };
  std::size_t max_batch_bytes_;
  std::size_t max_ranges_;
  stage stage_ = stage::idle;
  std::deque<anti_entropy_repair> queue_;
  std::uint64_t in_flight_ = 0; // records of the repair_batch awaiting its ack
  anti_entropy_repair in_flight_range_; // what that batch covered
  std::optional<repair_answer> answered_;
  repair_figures figures_;
};

// The checks a repair record gets on top of every check of a record_batch record (the frame's
// decode, the journal's record limits): empty when acceptable, otherwise why not. A record of
// this node's own origin, or one whose path holds this node, cannot be missing here: the peer
// echoes what came from here.
std::string check_repair_record(std::string_view local, std::string_view origin,
                                std::span<const std::string_view> path);

// Store or drop each record of a repair_batch: drop when held(origin, origin_seq) (the journal
// holds it, or retention removed it), or when it repeats an earlier record of the batch.
using repair_held_fn = std::function<bool(std::string_view origin, std::uint64_t origin_seq)>;
std::vector<verdict> repair_verdicts(std::span<const inbound_record> records, const repair_held_fn& held);

// What the receiving node holds, for the verdicts of repair_batch after repair_batch (issue 17
// review): per origin the origin_seqs held, and per publisher the publisher_seqs held under any
// origin (the duplicate rule: a publisher that failed over resent the message here, where it is
// stored as another origin's). Both as sets of closed intervals, which a journal fills densely,
// so a journal of millions of records is a handful of intervals. The digest scanner extends it
// from the journal record by record (add, then scanned_through), so each record is read once per
// repair session instead of once per repair_batch.
//
// Contract: the journal only appends and retention only removes; a key once added stays "held"
// (held or removed by retention, which the verdicts treat alike). At most max_entries intervals
// and names together: beyond that overflowed() is set and the index must not be used (the
// caller clears it and falls back to a scan of its own): memory is bounded whatever a peer or
// a publisher made the journal hold.
class repair_index {
public:
  static constexpr std::size_t default_max_entries = 1u << 18; // ~64 bytes each: ~16 MiB at most
  explicit repair_index(std::size_t max_entries = default_max_entries) : max_entries_(max_entries) {}

  void add(std::string_view origin, std::uint64_t origin_seq, std::string_view publisher, std::uint64_t publisher_seq);
  bool holds(std::string_view origin, std::uint64_t origin_seq) const;
  // publisher_seq 0 (no publisher sequence) is never held: such messages have no duplicate rule.
  bool holds_message(std::string_view publisher, std::uint64_t publisher_seq) const;

  // The journal seqs up to here were added; the next extension starts after it.
  std::uint64_t scanned_through() const noexcept { return scanned_through_; }
  void set_scanned_through(std::uint64_t seq) noexcept { scanned_through_ = seq; }
  bool overflowed() const noexcept { return entries_ > max_entries_; }
  std::size_t entries() const noexcept { return entries_; }
  void clear();

private:
  using intervals = std::map<std::uint64_t, std::uint64_t>; // first -> last, disjoint, not adjacent
  void insert(std::map<std::string, intervals, std::less<>>& by_name, std::string_view name, std::uint64_t v);
  static bool contains(const std::map<std::string, intervals, std::less<>>& by_name, std::string_view name,
                       std::uint64_t v);
  std::size_t max_entries_;
  std::size_t entries_ = 0;
  std::uint64_t scanned_through_ = 0;
  std::map<std::string, intervals, std::less<>> origins_, publishers_;
};

} // namespace tandem::logic
