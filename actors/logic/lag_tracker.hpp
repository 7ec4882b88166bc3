// How far one destination is behind, in time and bytes, and whether it is stalled. No I/O, no
// clock: the destination link passes `now` (steady clock) with every event, so tests drive it
// with made-up times.
//
// Definitions (AMPS "seconds behind"):
//   lag_seconds  write time of the newest durable record minus write time of the newest record
//                the destination acknowledged; 0 when it acknowledged everything durable.
//   lag_bytes    journal bytes written between those two records.
//   stalled      records wait for the destination and its acknowledged position has not moved
//                for at least stall_after (counted from the later of: its last progress, the
//                moment records started waiting). A destination that is down with records
//                waiting is stalled too: either way nothing reaches it.
//
// "Write time" is when the link learned the record was durable (one notification per journal
// commit), kept as marks (seq, time, cumulative bytes): a mark says every record up to seq was
// durable by that time. Memory is bounded: marks closer than `resolution` apart are merged, and
// when max_marks are held every other mark is dropped and the resolution doubles, so the figures
// get coarser (never wrong by more than the resolution) instead of the memory growing. Records
// durable before the tracker started count as written at its start, with 0 bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>

namespace tandem::logic {

class lag_tracker {
public:
  using clock = std::chrono::steady_clock;
  using time_point = clock::time_point;

  // acked, durable: positions at start. Preconditions: max_marks >= 2, resolution > 0.
  lag_tracker(std::uint64_t acked, std::uint64_t durable, time_point now, std::chrono::nanoseconds stall_after,
              std::chrono::nanoseconds resolution = std::chrono::milliseconds{1}, std::size_t max_marks = 4096);

  // Records up to `seq` are durable; `bytes_total` is the journal's cumulative committed bytes
  // (monotonic). Older or equal seqs are ignored.
  void on_durable(std::uint64_t seq, std::uint64_t bytes_total, time_point now);
  // The destination's acknowledged coverage reached `seq` (monotonic; lower values are ignored).
  void on_acked(std::uint64_t seq, time_point now);

  std::uint64_t acked() const noexcept { return acked_; }
  std::uint64_t durable() const noexcept { return durable_; }
  std::uint64_t lag_records() const noexcept { return durable_ > acked_ ? durable_ - acked_ : 0; }
  double lag_seconds() const;
  std::uint64_t lag_bytes() const;
  bool stalled(time_point now) const { return lag_records() > 0 && now - waiting_since_ >= stall_after_; }
  // A live reload changed metrics.stall_after_ms: stalled() uses it from now on (the waiting
  // time already counted is kept).
  void set_stall_after(std::chrono::nanoseconds d) noexcept { stall_after_ = d; }
  // How long the destination has made no progress while records waited; 0 when none wait.
  std::chrono::nanoseconds stalled_for(time_point now) const;
  std::size_t marks() const noexcept { return marks_.size(); }
  std::chrono::nanoseconds resolution() const noexcept { return resolution_; }

private:
  struct mark {
    std::uint64_t seq;
    time_point at;
    std::uint64_t bytes; // cumulative committed bytes once seq was durable
  };
  void thin();

  std::uint64_t acked_, durable_;
  std::chrono::nanoseconds stall_after_, resolution_;
  std::size_t max_marks_;
  std::deque<mark> marks_;    // seq increasing, all > acked_; the newest is durable_
  time_point acked_at_;       // write time of the acked record
  std::uint64_t acked_bytes_; // cumulative bytes at the acked record
  std::uint64_t base_seq_;    // the seq acked_at_/acked_bytes_ describe
  time_point waiting_since_;  // last progress, or when records started waiting
  std::uint64_t last_bytes_ = 0;
};

} // namespace tandem::logic
