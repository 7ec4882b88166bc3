#include "actors/logic/ack_tracker.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>

namespace tandem::logic {

ack_tracker::ack_tracker(std::vector<bool> sync_by_destination, std::size_t max_pending)
    : sync_(std::move(sync_by_destination)), downgraded_(sync_.size(), false), positions_(sync_.size(), 0),
      max_pending_(max_pending) {
  sets_.push_back(needs_set{sync_, {}});
}

std::uint32_t ack_tracker::set_of(const std::vector<bool>& needs) {
  if (needs.empty())
    return 0;
  std::vector<bool> sync_needed(sync_.size(), false);
  for (std::size_t i = 0; i < sync_.size(); ++i)
    sync_needed[i] = sync_[i] && i < needs.size() && needs[i];
  for (std::size_t k = 0; k < sets_.size(); ++k)
    if (sets_[k].sync_needed == sync_needed)
      return static_cast<std::uint32_t>(k);
  if (sets_.size() >= max_needs_sets)
    return 0; // bounded: further sets wait for every sync destination (never too early)
  sets_.push_back(needs_set{std::move(sync_needed), {}});
  return static_cast<std::uint32_t>(sets_.size() - 1);
}

bool ack_tracker::add(std::uint64_t seq, std::uint64_t token, const std::vector<bool>& needs) {
  assert(seq > last_added_ && "add() takes seqs in strictly increasing order");
  // live_, not queue_.size(): entries released out of seq order wait in queue_ until the ones
  // before them go, and counting them refused a publish the admission had let through (defect 3).
  if (seq <= last_added_ || live_ >= max_pending_)
    return false;
  const auto set = set_of(needs);
  queue_.push_back({seq, token, false, set});
  sets_[set].fifo.push_back(seq);
  ++live_;
  last_added_ = seq;
  return true;
}

bool ack_tracker::try_admit() {
  if (admitted_ >= max_pending_)
    return false;
  ++admitted_;
  return true;
}

void ack_tracker::on_answered() {
  assert(admitted_ > 0 && "on_answered() without try_admit()");
  if (admitted_ > 0)
    --admitted_;
}

// Drops released entries from the middle of queue_ and stale seqs from the fifos. Called when
// released entries outnumber live ones, so its O(queue + fifos) cost is amortized over at least
// as many releases, and memory stays O(pending) while one old publish waits for a down
// destination and newer ones are released ahead of it.
void ack_tracker::compact() {
  std::erase_if(queue_, [](const entry& e) { return e.released; });
  for (std::uint32_t k = 0; k < sets_.size(); ++k)
    std::erase_if(sets_[k].fifo, [&](std::uint64_t seq) {
      const entry* e = find(seq);
      return e == nullptr || e->set != k;
    });
}

ack_tracker::entry* ack_tracker::find(std::uint64_t seq) {
  auto it = std::lower_bound(queue_.begin(), queue_.end(), seq, [](const entry& e, std::uint64_t s) { return e.seq < s; });
  return it != queue_.end() && it->seq == seq ? &*it : nullptr;
}

bool ack_tracker::ready(std::uint64_t seq, const needs_set& s) const {
  if (seq > local_durable_)
    return false;
  for (std::size_t i = 0; i < s.sync_needed.size(); ++i)
    if (s.sync_needed[i] && positions_[i] < seq && !downgraded_[i])
      return false;
  return true;
}

void ack_tracker::set_downgraded(std::size_t dest_index, bool downgraded) {
  if (dest_index < downgraded_.size())
    downgraded_[dest_index] = downgraded;
}

std::size_t ack_tracker::add_destination(std::uint64_t position) {
  sync_.push_back(false);
  downgraded_.push_back(false);
  positions_.push_back(position);
  for (auto& s : sets_)
    s.sync_needed.push_back(false);
  return sync_.size() - 1;
}

void ack_tracker::set_sync(std::size_t dest_index, bool sync) {
  if (dest_index >= sync_.size() || sync_[dest_index] == sync)
    return;
  auto old = sets_[0].sync_needed;
  sync_[dest_index] = sync;
  downgraded_[dest_index] = false;
  if (!sync) {
    for (auto& s : sets_)
      s.sync_needed[dest_index] = false; // nobody waits for it any more
    return;
  }
  sets_[0].sync_needed[dest_index] = true; // set 0: every sync destination, for publishes from now on
  keep_old_needs_of_every_sync_set(std::move(old));
}

// The entries of set 0 were added when it meant `old`: they move to a set with exactly those
// needs (found or made), so a destination that became sync after them does not hold them back.
// With max_needs_sets sets taken they stay (and wait for it too: late, never early).
void ack_tracker::keep_old_needs_of_every_sync_set(std::vector<bool> old) {
  if (sets_[0].fifo.empty())
    return;
  std::uint32_t k = 1;
  while (k < sets_.size() && sets_[k].sync_needed != old)
    ++k;
  if (k == sets_.size()) {
    if (sets_.size() >= max_needs_sets)
      return;
    sets_.push_back(needs_set{std::move(old), {}});
  }
  for (auto& e : queue_)
    if (e.set == 0)
      e.set = k;
  std::deque<std::uint64_t> merged;
  std::merge(sets_[k].fifo.begin(), sets_[k].fifo.end(), sets_[0].fifo.begin(), sets_[0].fifo.end(),
             std::back_inserter(merged));
  sets_[k].fifo = std::move(merged);
  sets_[0].fifo.clear();
}

std::size_t ack_tracker::held_back_by(std::size_t dest_index) const {
  std::size_t n = 0;
  if (dest_index >= sync_.size() || !sync_[dest_index] || downgraded_[dest_index])
    return 0;
  for (const auto& e : queue_) {
    if (e.released)
      continue;
    if (e.seq > local_durable_)
      break;
    if (sets_[e.set].sync_needed[dest_index] && positions_[dest_index] < e.seq)
      ++n;
  }
  return n;
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
    rejected_.push_back({it->token, it->seq, release_kind::rejected, {}});
  }
  // The journal reuses rejected seqs: drop released entries at the tail so later adds may
  // take those seqs again while the queue stays strictly increasing.
  while (!queue_.empty() && queue_.back().released)
    queue_.pop_back();
  last_added_ = queue_.empty() ? std::min(last_added_, first_seq - 1)
                               : std::min(last_added_, std::max(queue_.back().seq, first_seq - 1));
}

std::vector<release> ack_tracker::take_ready() {
  std::vector<release> out = std::move(rejected_);
  rejected_.clear();
  const std::size_t first_persisted = out.size();
  for (std::uint32_t k = 0; k < sets_.size(); ++k) {
    auto& s = sets_[k];
    while (!s.fifo.empty()) {
      entry* e = find(s.fifo.front());
      if (e == nullptr || e->released || e->set != k) { // rejected (or its seq reused): stale
        s.fifo.pop_front();
        continue;
      }
      if (!ready(e->seq, s))
        break; // later seqs of this set need at least as much
      e->released = true;
      --live_;
      release r{e->token, e->seq, release_kind::persisted, {}};
      for (std::size_t i = 0; i < s.sync_needed.size(); ++i)
        if (s.sync_needed[i] && positions_[i] < e->seq)
          r.not_on.push_back(static_cast<std::uint32_t>(i)); // downgraded (ready() says so)
      out.push_back(std::move(r));
      s.fifo.pop_front();
    }
  }
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first_persisted), out.end(),
            [](const release& a, const release& b) { return a.seq < b.seq; });
  while (!queue_.empty() && queue_.front().released)
    queue_.pop_front();
  if (queue_.size() > 2 * live_ + 64)
    compact();
  return out;
}

std::vector<bool> ack_tracker::holding_back() const {
  std::vector<bool> out(sync_.size(), false);
  for (const auto& e : queue_) {
    if (e.released)
      continue;
    if (e.seq > local_durable_)
      break; // queue_ is in seq order: the rest is not durable here yet
    const auto& s = sets_[e.set];
    for (std::size_t i = 0; i < s.sync_needed.size(); ++i)
      if (s.sync_needed[i] && positions_[i] < e.seq && !downgraded_[i])
        out[i] = true;
  }
  return out;
}

} // namespace tandem::logic
