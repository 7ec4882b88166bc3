#include "actors/logic/memory_budget.hpp"

#include <cassert>

namespace tandem::logic {

bool memory_budget::try_acquire(std::uint64_t n) {
  auto cur = used_.load(std::memory_order_relaxed);
  do {
    if (n > limit_ || cur > limit_ - n) {
      if (n > 0) {
        refusals_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      return true;
    }
  } while (!used_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  note_peak(cur + n);
  return true;
}

bool memory_budget::try_acquire_spare(std::uint64_t n) {
  const std::uint64_t ceiling = limit_ / 2;
  auto cur = used_.load(std::memory_order_relaxed);
  do {
    if (n > ceiling || cur > ceiling - n)
      return n == 0;
  } while (!used_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
  note_peak(cur + n);
  return true;
}

void memory_budget::charge(std::uint64_t n) {
  note_peak(used_.fetch_add(n, std::memory_order_relaxed) + n);
}

void memory_budget::release(std::uint64_t n) {
  [[maybe_unused]] auto before = used_.fetch_sub(n, std::memory_order_relaxed);
  assert(before >= n); // never more than was taken
}

void memory_budget::note_peak(std::uint64_t now) {
  auto p = peak_.load(std::memory_order_relaxed);
  while (now > p && !peak_.compare_exchange_weak(p, now, std::memory_order_relaxed)) {
  }
}

connection_buffers::~connection_buffers() {
  budget_->release(partial_ + unsent_);
}

connection_buffers::verdict connection_buffers::on_partial_frame(std::uint64_t frame_bytes) {
  const std::uint64_t want = frame_bytes > free_partial_ ? frame_bytes : 0;
  if (want == partial_)
    return verdict::ok;
  if (want < partial_) {
    budget_->release(partial_ - want);
    partial_ = want;
    return verdict::ok;
  }
  if (!budget_->try_acquire(want - partial_))
    return verdict::over_node_budget;
  partial_ = want;
  return verdict::ok;
}

connection_buffers::verdict connection_buffers::on_output(std::uint64_t n, bool force) {
  if (force)
    budget_->charge(n);
  else if (!budget_->try_acquire(n))
    return verdict::over_node_budget;
  unsent_ += n;
  return unsent_ > max_output_ ? verdict::over_connection_limit : verdict::ok;
}

void connection_buffers::on_output_remaining(std::uint64_t remaining) {
  if (remaining < unsent_) {
    budget_->release(unsent_ - remaining);
    unsent_ = remaining;
  }
  // More remaining than we counted cannot come from our writes; keep our (higher-is-safer) count
  // only when it is larger, so a report never makes the budget forget bytes.
}

} // namespace tandem::logic
