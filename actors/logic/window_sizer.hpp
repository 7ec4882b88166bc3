// How many unacknowledged bytes one destination link may have out: sized from what its acks show.
// No I/O and no clock: the link passes its steady clock's reading (nanoseconds) with each event.
//
// Why: a link moves at most its bound per ack turn (send to durable_ack, which includes the peer's
// journal write and fdatasync). A fixed 4 MiB bound over a 150 ms turn is 28 MB/s, whatever the
// link's bandwidth. The bound a link needs is its bandwidth-delay product, here
//
//     window = gain (2) x delivery rate (the highest of the last rate_window) x ack turn (the
//              shortest of the last turn_window)
//
// clamped to [floor, min(ceiling, floor + what the node-wide budget grants)]. The shortest turn
// is the turn without queueing, so a link whose bottleneck is elsewhere (the wire, the peer's
// disk) does not grow its window with the queue it builds: once queued, a bigger window only
// makes the turn longer at the same rate, and rate x shortest turn stays put. A link that is
// held by its window (rate = window / turn, no queue) gets 2 x window: it doubles per turn until
// its rate stops rising, its ceiling or its budget share.
//
// Samples (BBR's delivery-rate estimate, without pacing): each batch sent records the bytes
// acknowledged so far and when the newest ack before it came (its own send time when nothing was
// in flight). The ack that frees it gives
//     turn = ack time - send time
//     rate = (bytes acknowledged now - bytes acknowledged at its send) / (ack time - that time)
// Worked example (floor 4 MiB, ceiling 64 MiB, no budget): four batches of 1 MiB go out at
// t = 0 (the floor is full) and one ack frees them at t = 100 ms: turn 100 ms, rate 4 MiB / 100 ms
// = 40 MiB/s, window 2 x 40 MiB/s x 0.1 s = 8 MiB. Eight batches go out at 100 ms, acked at
// 200 ms: rate 8 MiB / 100 ms, window 16 MiB; then 32, then 64 (the ceiling). Had the turns
// stretched with the window instead (a queue in front of a 40 MiB/s bottleneck: 8 MiB acked after
// 200 ms), the rate stays 40 MiB/s and the shortest turn 100 ms: the window stays at 8 MiB.
//
// The memory rule (node-wide, by bytes): the floor is the link's share of
// limits.max_in_flight_bytes_total, as before. Growth above the floor is acquired from the node's
// memory_budget (limits.max_buffered_bytes_total, shared with the client and replication
// listeners' partial frames and client output) under two limits, so other links and publishers
// are never starved:
//   * window growth never makes the budget more than half used (used + growth <= limit / 2):
//     the other half is always left to frames and client output;
//   * one link takes at most an equal share of that half: limit / 2 / links.
// When the budget is more than half used (clients hold much), a link gives growth back at its
// next ack, down to what fits (never below the floor); a smaller wanted window gives bytes back
// at once. Everything is released when the sizer is destroyed.
//
// Hostile or odd samples: an ack for a seq above everything sent is ignored (the link also closes
// the connection for it, peer_claims.hpp); a turn of zero or less (a clock that went backwards,
// an ack of a batch sent in the same instant) and a turn above max_turn are not sampled (counted
// in ignored_samples), though the batches they free are counted as delivered. The window moves
// only between the floor and the ceiling, and grows at most 2x per ack.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>

#include "actors/logic/memory_budget.hpp"

namespace tandem::logic {

struct window_settings {
  std::uint64_t floor = 4ull << 20;    // today's bound: link_in_flight_share()
  std::uint64_t ceiling = 64ull << 20; // limits.max_link_window_bytes (raised to floor if below)
  std::int64_t rate_window_ns = 2'000'000'000;  // delivery rate: the highest sample of this long
  std::int64_t turn_window_ns = 10'000'000'000; // ack turn: the shortest sample of this long
  std::int64_t max_turn_ns = 30'000'000'000;    // longer samples are not believed
  double gain = 2.0;
  std::size_t links = 1; // destinations sharing the budget's half (at least 1)
};

struct window_figures {
  std::uint64_t window = 0;         // bytes the link may have in flight now
  std::uint64_t granted = 0;        // of which taken from the memory budget (window - floor)
  std::int64_t srtt_ns = 0;         // smoothed ack turn (1/8 per sample), 0 before any sample
  std::int64_t min_turn_ns = 0;     // shortest turn of the turn window, 0 before any sample
  double rate_bytes_per_s = 0;      // highest delivery rate of the rate window
  std::uint64_t samples = 0;        // acks that gave a turn and a rate
  std::uint64_t ignored_samples = 0; // zero, negative or too long turns
  std::uint64_t ignored_acks = 0;   // acks above everything sent, or with nothing in flight
  std::uint64_t budget_refusals = 0; // growth the budget did not grant (fully or in part)
};

class window_sizer {
public:
  using ns = std::int64_t;

  // budget: the node's memory budget, shared; null: growth up to the ceiling without one.
  explicit window_sizer(window_settings s, std::shared_ptr<memory_budget> budget = nullptr);
  ~window_sizer();
  window_sizer(const window_sizer&) = delete;
  window_sizer& operator=(const window_sizer&) = delete;

  // A batch whose last record is last_seq (strictly above the previous one's) and `bytes` of
  // plain frame left at `now`. A seq not above the previous is ignored (never happens in order).
  void on_sent(std::uint64_t last_seq, std::uint64_t bytes, ns now);
  // durable_ack{seq} at `now`: frees the batches up to seq, samples the newest of them and
  // resizes. Returns true when window() changed.
  bool on_ack(std::uint64_t seq, ns now);
  // The connection ended or was replaced: batches sent on it give no samples. Estimates and the
  // window stay (the next connection goes to the same place, most likely).
  void on_disconnected();

  std::uint64_t window() const noexcept { return floor_ + granted_; }
  window_figures figures() const;
  const window_settings& settings() const noexcept { return s_; }

private:
  struct sent {
    std::uint64_t last_seq;
    std::uint64_t bytes;
    ns sent_at;
    std::uint64_t delivered_at_send;
    ns delivered_time_at_send;
  };
  struct sample {
    ns at;
    double value;
  };

  void sample_turn(ns turn, ns now);
  void sample_rate(double rate, ns now);
  bool resize(ns now);
  std::uint64_t wanted() const;
  std::uint64_t grantable(std::uint64_t more) const;

  window_settings s_;
  std::shared_ptr<memory_budget> budget_;
  std::uint64_t floor_;
  std::uint64_t granted_ = 0;
  std::deque<sent> in_flight_;  // last_seq strictly increasing
  std::uint64_t delivered_ = 0; // bytes acknowledged on this sizer's lifetime
  ns delivered_time_ = 0;       // when delivered_ last grew (or the pipe was last idle)
  std::deque<sample> rates_;    // monotonic: values strictly decreasing from the front
  std::deque<sample> turns_;    // monotonic: values strictly increasing from the front
  std::int64_t srtt_ns_ = 0;
  std::uint64_t samples_ = 0, ignored_samples_ = 0, ignored_acks_ = 0, refusals_ = 0;
};

} // namespace tandem::logic
