// Decides when a publisher gets its "persisted" ack.
//
// Replication model: see routing.hpp. The parts this class relies on:
//   * Local seqs are dense and assigned in publish order; the journal reports a durable seq
//     that only grows (on_local_durable).
//   * Each destination link reports a COVERAGE position (link_window::acked): every local record
//     up to it is either durable at the destination or was not routed there. Because filtered
//     records count as covered, a single position per destination is enough -- no per-record
//     routing mask is needed.
//
// Contract:
//   * Admission, ONE count (issue 14, defect 3): try_admit() before a publish is submitted to
//     the journal takes one of max_pending slots (false: all taken -- the caller refuses the
//     publish with queue_full, it never submits it); on_answered() frees the slot once the
//     caller has delivered that publish's answer, whatever it was (persisted, rejected, refused,
//     or an ack that still waited for its duplicates' originals after its release). Since every
//     entry is an admitted publish, pending() <= admitted() <= max_pending, so add() of an
//     admitted publish never fails for capacity.
//   * add(seq, token) in strictly increasing seq order (one entry per publish); false only when
//     pending() (entries not released yet -- the same count the admission sees) has reached
//     max_pending (callers that do not use try_admit) or the order is broken. Entries released
//     out of seq order do not count: they hold no slot and take no memory for long (the queue
//     is compacted once released entries outnumber live ones).
//   * A publish is released as persisted once local_durable >= seq AND the position of every SYNC
//     destination it NEEDS is >= seq. By default a publish needs every sync destination; add()
//     can name the ones whose routing admits any of its records (a sync destination with a topic
//     filter the publish does not match must not hold its ack: a down sync destination blocks
//     only the acks it must block). Async destinations never delay it. With no sync destination
//     needed, local durability alone releases it.
//   * set_downgraded(i, true): sync destination i no longer holds releases back (issue 16,
//     logic/sync_downgrade.hpp); a publish released while it needed i and i's position was below
//     it names i in release::not_on. set_downgraded(i, false): it holds back the publishes
//     released from then on (none released before is affected).
//   * Live reconfiguration (issue 21): add_destination(position) appends an index (async until
//     set_sync); indexes never move, a removed destination is made async for good. set_sync(i,
//     true): i holds back the publishes added from then on; those already waiting keep the needs
//     they were added with (they do not wait for it) -- unless max_needs_sets distinct sets exist,
//     when those that needed every sync destination wait for it too (late, never early).
//     set_sync(i, false): i holds back nothing any more, waiting publishes included (released by
//     the next take_ready() if nothing else holds them).
//   * on_rejected(first, last): the journal failed those seqs; their publishes are released as
//     rejected (whatever the other positions say). The journal may reuse rejected seqs (when no
//     sync link could have read them; otherwise it skips them: journal/seq_reservation.hpp), so
//     a later add() may use them again once they were the newest entries.
//   * Positions are monotonic: a lower (out-of-order, stale) value is ignored and counted.
//   * take_ready() returns every release decided since the last call, each exactly once.
//     Persisted releases come out in seq order within one call; publishes that need different
//     sync destinations may be released out of seq order across calls (a publish that needs
//     nothing down is not held behind an older one that does). Rejections come out as soon as
//     they happen, without waiting for older publishes.
//   * Cost: pending publishes are a queue in seq order plus one FIFO per distinct set of needed
//     destinations (at most max_needs_sets; further sets are treated as "every sync
//     destination"), so each publish is added and released in amortized O(log n) and
//     take_ready() costs O(sets + released); a rejection costs O(log n + rejected).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace tandem::logic {

enum class release_kind { persisted, rejected };

struct release {
  std::uint64_t token = 0;
  std::uint64_t seq = 0;
  release_kind kind = release_kind::persisted;
  // persisted only: the sync destinations it needed whose position was below seq when it was
  // released -- downgraded ones (set_downgraded), ascending indexes. Empty: a complete release.
  std::vector<std::uint32_t> not_on;

  friend bool operator==(const release&, const release&) = default;
};

class ack_tracker {
public:
  static constexpr std::size_t default_max_pending = 1u << 16;

  // sync_by_destination[i] tells whether destination i is sync; its size is the number of
  // destinations (indexes used by on_destination_acked).
  explicit ack_tracker(std::vector<bool> sync_by_destination,
                       std::size_t max_pending = default_max_pending);

  static constexpr std::size_t max_needs_sets = 64;

  // needs[i]: the publish needs destination i (only sync ones matter); empty = every sync
  // destination.
  bool add(std::uint64_t seq, std::uint64_t token, const std::vector<bool>& needs = {});
  // Admission (see the contract): a slot for a publish about to be submitted, freed by
  // on_answered() once its answer was delivered.
  [[nodiscard]] bool try_admit();
  void on_answered();
  std::size_t admitted() const noexcept { return admitted_; }
  std::size_t max_pending() const noexcept { return max_pending_; }
  void on_local_durable(std::uint64_t seq);
  void on_destination_acked(std::size_t dest_index, std::uint64_t seq);
  void set_downgraded(std::size_t dest_index, bool downgraded);
  // Live reconfiguration (see the contract). add_destination returns the new index.
  std::size_t add_destination(std::uint64_t position);
  void set_sync(std::size_t dest_index, bool sync);
  bool sync(std::size_t dest_index) const { return dest_index < sync_.size() && sync_[dest_index]; }
  // Publishes durable here that destination i holds back now (what a removal releases). O(pending).
  std::size_t held_back_by(std::size_t dest_index) const;
  bool downgraded(std::size_t dest_index) const { return dest_index < downgraded_.size() && downgraded_[dest_index]; }
  void on_rejected(std::uint64_t first_seq, std::uint64_t last_seq);
  std::vector<release> take_ready();
  // Per destination: sync, not downgraded, and its position is below a live entry that needs it and is durable
  // here (it holds back at least one publish). O(pending); for the rare "why does my ack wait".
  std::vector<bool> holding_back() const;

  std::size_t pending() const noexcept { return live_; }
  // Entries kept in memory: pending() plus released ones still queued behind an older pending
  // one; compaction keeps it below 2 * pending() + 65.
  std::size_t queued() const noexcept { return queue_.size(); }
  std::uint64_t local_durable() const noexcept { return local_durable_; }
  std::uint64_t destination_position(std::size_t dest_index) const;
  // Positions or durable seqs lower than already known, and unknown destination indexes.
  std::uint64_t ignored_updates() const noexcept { return ignored_; }

private:
  struct entry {
    std::uint64_t seq;
    std::uint64_t token;
    bool released; // rejected, or released ahead of older entries: skipped when reached
    std::uint32_t set = 0; // index into sets_
  };
  struct needs_set {
    std::vector<bool> sync_needed; // per destination: sync and needed
    std::deque<std::uint64_t> fifo; // seqs of entries with this set, increasing (may hold stale ones)
  };

  std::uint32_t set_of(const std::vector<bool>& needs);
  void keep_old_needs_of_every_sync_set(std::vector<bool> old);
  bool ready(std::uint64_t seq, const needs_set& s) const;
  entry* find(std::uint64_t seq);
  void compact();


  std::vector<bool> sync_;
  std::vector<bool> downgraded_; // per destination (set_downgraded)
  std::vector<std::uint64_t> positions_;
  std::size_t max_pending_;
  std::uint64_t local_durable_ = 0;
  std::uint64_t last_added_ = 0;
  std::deque<entry> queue_; // invariant: seqs strictly increasing
  std::vector<needs_set> sets_; // [0] = every sync destination
  std::size_t live_ = 0;    // entries in queue_ not yet released
  std::size_t admitted_ = 0; // slots taken by try_admit() and not yet answered
  std::vector<release> rejected_;
  std::uint64_t ignored_ = 0;
};

} // namespace tandem::logic
