#include "actors/logic/ack_tracker.hpp"

#include <algorithm>
#include <cassert>

namespace tandem::logic {

ack_tracker::ack_tracker(std::vector<bool> sync_by_destination, std::size_t max_pending)
    : sync_(std::move(sync_by_destination)), positions_(sync_.size(), 0),
      max_pending_(max_pending) {}

bool ack_tracker::add(std::uint64_t seq, std::uint64_t token) {
  assert(seq > last_added_ && "add() takes seqs in strictly increasing order");
  if (seq <= last_added_ || queue_.size() >= max_pending_)
    return false;
  queue_.push_back({seq, token, false});
  ++live_;
  last_added_ = seq;
  return true;
}

void ack_tracker::on_local_durable(std::uint64_t seq) {
  if (seq < local_durable_) {
    ++ignored_;
    return;
  }
  local_durable_ = seq;
}

void ack_tracker::on_destination_acked(std::size_t dest_index, std::uint64_t seq) {
  if (dest_index >= positions_.size() || seq < positions_[dest_index]) {
    ++ignored_;
    return;
  }
  positions_[dest_index] = seq;
}

std::uint64_t ack_tracker::destination_position(std::size_t dest_index) const {
  return dest_index < positions_.size() ? positions_[dest_index] : 0;
}

void ack_tracker::on_rejected(std::uint64_t first_seq, std::uint64_t last_seq) {
  first_seq = std::max<std::uint64_t>(first_seq, 1); // seqs start at 1
  if (last_seq < first_seq)
    return;
  auto it = std::lower_bound(queue_.begin(), queue_.end(), first_seq,
                             [](const entry& e, std::uint64_t s) { return e.seq < s; });
  for (; it != queue_.end() && it->seq <= last_seq; ++it) {
    if (it->released)
      continue;
    it->released = true;
    --live_;
    rejected_.push_back({it->token, it->seq, release_kind::rejected});
  }
  // The journal reuses rejected seqs: drop released entries at the tail so later adds may
  // take those seqs again while the queue stays strictly increasing.
  while (!queue_.empty() && queue_.back().released)
    queue_.pop_back();
  last_added_ = queue_.empty() ? std::min(last_added_, first_seq - 1)
                               : std::min(last_added_, std::max(queue_.back().seq, first_seq - 1));
}

std::uint64_t ack_tracker::release_bound() const {
  std::uint64_t bound = local_durable_;
  for (std::size_t i = 0; i < sync_.size(); ++i)
    if (sync_[i])
      bound = std::min(bound, positions_[i]);
  return bound;
}

std::vector<release> ack_tracker::take_ready() {
  std::vector<release> out = std::move(rejected_);
  rejected_.clear();
  const std::uint64_t bound = release_bound();
  while (!queue_.empty() && (queue_.front().released || queue_.front().seq <= bound)) {
    const entry e = queue_.front();
    queue_.pop_front();
    if (!e.released) {
      --live_;
      out.push_back({e.token, e.seq, release_kind::persisted});
    }
  }
  return out;
}

} // namespace tandem::logic
