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
//   * add(seq, token) in strictly increasing seq order (one entry per publish); false when
//     max_pending entries are already queued -- the caller pushes back on the publisher.
//   * A publish is released as persisted once local_durable >= seq AND every SYNC destination's
//     position >= seq. Async destinations never delay it. With no sync destinations, local
//     durability alone releases it.
//   * on_rejected(first, last): the journal failed those seqs; their publishes are released as
//     rejected (whatever the other positions say). The journal reuses rejected seqs, so a later
//     add() may use them again once they were the newest entries.
//   * Positions are monotonic: a lower (out-of-order, stale) value is ignored and counted.
//   * take_ready() returns every release decided since the last call, each exactly once.
//     Persisted releases come out in seq order; rejections come out as soon as they happen,
//     without waiting for older publishes.
//   * Cost: pending publishes are a queue in seq order, so each publish is added and released in
//     amortized O(1); a rejection costs O(log n + rejected).
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

  friend bool operator==(const release&, const release&) = default;
};

class ack_tracker {
public:
  static constexpr std::size_t default_max_pending = 1u << 16;

  // sync_by_destination[i] tells whether destination i is sync; its size is the number of
  // destinations (indexes used by on_destination_acked).
  explicit ack_tracker(std::vector<bool> sync_by_destination,
                       std::size_t max_pending = default_max_pending);

  bool add(std::uint64_t seq, std::uint64_t token);
  void on_local_durable(std::uint64_t seq);
  void on_destination_acked(std::size_t dest_index, std::uint64_t seq);
  void on_rejected(std::uint64_t first_seq, std::uint64_t last_seq);
  std::vector<release> take_ready();

  std::size_t pending() const noexcept { return live_; }
  std::uint64_t local_durable() const noexcept { return local_durable_; }
  std::uint64_t destination_position(std::size_t dest_index) const;
  // Positions or durable seqs lower than already known, and unknown destination indexes.
  std::uint64_t ignored_updates() const noexcept { return ignored_; }

private:
  struct entry {
    std::uint64_t seq;
    std::uint64_t token;
    bool released; // rejected while older entries were still waiting: skipped when reached
  };

  // Highest seq that may be released as persisted: min(local durable, every sync position).
  std::uint64_t release_bound() const;

  std::vector<bool> sync_;
  std::vector<std::uint64_t> positions_;
  std::size_t max_pending_;
  std::uint64_t local_durable_ = 0;
  std::uint64_t last_added_ = 0;
  std::deque<entry> queue_; // invariant: seqs strictly increasing
  std::size_t live_ = 0;    // entries in queue_ not yet released
  std::vector<release> rejected_;
  std::uint64_t ignored_ = 0;
};

} // namespace tandem::logic
