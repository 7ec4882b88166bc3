#include "actors/logic/lag_tracker.hpp"

#include <cassert>

namespace tandem::logic {

lag_tracker::lag_tracker(std::uint64_t acked, std::uint64_t durable, time_point now,
                         std::chrono::nanoseconds stall_after, std::chrono::nanoseconds resolution,
                         std::size_t max_marks)
    : acked_(acked), durable_(durable < acked ? acked : durable), stall_after_(stall_after),
      resolution_(resolution), max_marks_(max_marks), acked_at_(now), acked_bytes_(0), base_seq_(acked), waiting_since_(now) {
  assert(max_marks_ >= 2 && resolution_.count() > 0);
  if (durable_ > acked_)
    marks_.push_back({durable_, now, 0});
}

void lag_tracker::on_durable(std::uint64_t seq, std::uint64_t bytes_total, time_point now) {
  if (bytes_total > last_bytes_)
    last_bytes_ = bytes_total;
  if (seq <= durable_)
    return;
  if (durable_ <= acked_)
    waiting_since_ = now; // records start waiting now
  durable_ = seq;
  if (!marks_.empty() && now - marks_.back().at < resolution_) {
    marks_.back().seq = seq; // merged: these records count as written a little earlier
    marks_.back().bytes = last_bytes_;
    return;
  }
  marks_.push_back({seq, now, last_bytes_});
  if (marks_.size() > max_marks_)
    thin();
}

void lag_tracker::on_acked(std::uint64_t seq, time_point now) {
  if (seq <= acked_)
    return;
  acked_ = seq;
  waiting_since_ = now; // progress
  if (seq > durable_)
    durable_ = seq; // cannot ack what is not durable; keep the invariant anyway
  // Marks wholly at or below `seq` are done; the last of them dates the acked record.
  std::uint64_t base_seq = base_seq_;
  while (!marks_.empty() && marks_.front().seq <= seq) {
    acked_at_ = marks_.front().at;
    acked_bytes_ = marks_.front().bytes;
    base_seq = marks_.front().seq;
    marks_.pop_front();
  }
  if (!marks_.empty() && seq > base_seq) {
    // `seq` lies inside the front mark, whose records became durable after acked_at_ and by
    // front.at: date it by the mark (the lag is then at most one commit too small) and place its
    // bytes proportionally between the two marks.
    const auto& m = marks_.front();
    auto span = static_cast<double>(m.seq - base_seq);
    auto part = static_cast<double>(seq - base_seq) / span;
    acked_bytes_ += static_cast<std::uint64_t>(static_cast<double>(m.bytes - acked_bytes_) * part);
    acked_at_ = m.at;
    base_seq = seq;
  }
  base_seq_ = base_seq;
}

double lag_tracker::lag_seconds() const {
  if (lag_records() == 0 || marks_.empty())
    return 0;
  auto d = marks_.back().at - acked_at_;
  return d.count() <= 0 ? 0 : std::chrono::duration<double>(d).count();
}

std::uint64_t lag_tracker::lag_bytes() const {
  if (lag_records() == 0 || marks_.empty())
    return 0;
  auto newest = marks_.back().bytes;
  return newest > acked_bytes_ ? newest - acked_bytes_ : 0;
}

std::chrono::nanoseconds lag_tracker::stalled_for(time_point now) const {
  if (lag_records() == 0)
    return std::chrono::nanoseconds{0};
  auto d = now - waiting_since_;
  return d.count() < 0 ? std::chrono::nanoseconds{0} : std::chrono::duration_cast<std::chrono::nanoseconds>(d);
}

void lag_tracker::thin() {
  // Keep the newest mark (it is durable_) and every other one before it.
  std::deque<mark> kept;
  for (std::size_t i = marks_.size() % 2 == 0 ? 1 : 0; i < marks_.size(); i += 2)
    kept.push_back(marks_[i]);
  marks_.swap(kept);
  resolution_ *= 2;
}

} // namespace tandem::logic
