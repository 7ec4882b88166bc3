// Whether a subscription's start point lies below what the journal still holds, and which
// records it cannot get (docs/protocol.md, "Gaps"). One pure function: the subscription actor
// feeds it the journal's figures at its start and sends one subscription_gap frame per range.
//
// Worked example: a journal with base 1 whose retention removed seqs 1..4768 (first_held 4769).
//   subscribe from_seq 1     -> one range, journal seqs 1..4768
//   subscribe from_seq 4768  -> 4768..4768 (exactly one record missing)
//   subscribe from_seq 4769  -> none (it starts at the oldest record held)
//   bookmark {A: 100}, removed origins {A: 3000, B: 1768} -> A 101..3000; B is not in the
//     bookmark, so "all of B held" is what was asked for: no range for B.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tandem::logic {

// What the journal holds and what retention removed (journal::removed_history, first_seq, base_seq).
struct held_history {
  std::uint64_t base_seq = 1;         // the journal's first-ever seq (its incarnation base)
  std::uint64_t first_held_seq = 1;   // oldest seq held (durable + 1 when nothing is held)
  std::uint64_t removed_last_seq = 0; // newest seq retention removed; 0 = none
  std::int64_t removed_max_timestamp_ns = 0; // newest timestamp among removed records
  std::map<std::string, std::uint64_t, std::less<>> removed_origins; // highest origin_seq removed, per origin
};

// The start point of a subscription, as the client listener decoded it.
struct subscription_start {
  std::optional<std::uint64_t> from_seq;     // subscribe with from_flag
  std::optional<std::int64_t> from_time_ns;  // subscribe_from start 3
  bool bookmark_given = false;               // subscribe_from start 0, 1 or 3 (not 2: live only)
  std::vector<std::pair<std::string, std::uint64_t>> bookmark; // origin -> highest origin_seq seen
};

struct gap_range {
  std::string origin; // "" = this journal's seqs; otherwise origin_seq of that origin
  std::uint64_t first = 0;
  std::uint64_t last = 0; // >= first
  std::uint64_t count() const { return last - first + 1; }
  friend bool operator==(const gap_range&, const gap_range&) = default;
};

// The ranges the subscription asked for that retention removed, in a stable order (journal
// range first, then origins by name); empty when nothing it asked for is missing.
//  * from_seq S: journal seqs max(S, base)..first_held-1 when retention removed any of them.
//    Seqs below the base never existed in this journal (an earlier incarnation's): no range.
//  * bookmark entry (O, n), the highest per origin: origin_seq n+1..removed[O] when removed[O] > n.
//    Origins not in the bookmark: "everything held" was asked for, no range.
//  * from_time T with an empty bookmark: journal seqs base..removed_last when a removed record
//    was stamped at or after T. (With a bookmark, only its entries are judged: a resumed
//    time-based subscription has seen what the bookmark covers.)
std::vector<gap_range> find_gaps(const held_history& held, const subscription_start& start);

} // namespace tandem::logic
