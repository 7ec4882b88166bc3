// Nearest-rank percentile of latency samples, for the publisher's p50/p99 summaries.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <vector>

namespace tandem::client {

// The smallest sample s such that at least p% of the samples are <= s (nearest rank); 0 for no
// samples. p in [0, 100]. Takes a copy: the caller's samples keep their arrival order.
inline std::chrono::nanoseconds percentile(std::vector<std::chrono::nanoseconds> samples, double p) {
  if (samples.empty())
    return std::chrono::nanoseconds{0};
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
  auto index = rank == 0 ? 0 : std::min(rank - 1, samples.size() - 1);
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(index), samples.end());
  return samples[index];
}

} // namespace tandem::client
