#include "actors/metrics/instruments.hpp"

#include <algorithm>
#include <cmath>

namespace tandem::metrics {

histogram::histogram(std::span<const double> upper_bounds)
    : bounds_(upper_bounds),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds.size() + 1)) {}

void histogram::observe(double v) noexcept {
  // lower_bound: first bound >= v, i.e. the first bucket whose "le" admits v. NaN compares false
  // with everything, which would put it in the first bucket, so it goes to +Inf explicitly.
  std::size_t index = bounds_.size();
  if (!std::isnan(v))
    index = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                     bounds_.begin());
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const {
  snapshot s;
  s.cumulative.reserve(bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

} // namespace tandem::metrics
