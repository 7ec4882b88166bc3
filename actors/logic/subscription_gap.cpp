#include "actors/logic/subscription_gap.hpp"

#include <algorithm>

namespace tandem::logic {

std::vector<gap_range> find_gaps(const held_history& held, const subscription_start& start) {
  std::vector<gap_range> out;
  const bool any_removed = held.removed_last_seq >= held.base_seq && held.first_held_seq > held.base_seq;
  if (start.from_seq && any_removed) {
    const std::uint64_t first = std::max(*start.from_seq, held.base_seq);
    const std::uint64_t last = std::min(held.removed_last_seq, held.first_held_seq - 1);
    if (first <= last)
      out.push_back({"", first, last});
  }
  if (start.bookmark_given) {
    std::map<std::string, std::uint64_t, std::less<>> seen; // an origin listed twice counts with its highest
    for (const auto& [origin, seq] : start.bookmark)
      seen[origin] = std::max(seen[origin], seq);
    for (const auto& [origin, seq] : seen)
      if (auto it = held.removed_origins.find(origin); it != held.removed_origins.end() && it->second > seq)
        out.push_back({origin, seq + 1, it->second});
    if (start.from_time_ns && seen.empty() && any_removed && held.removed_max_timestamp_ns >= *start.from_time_ns)
      out.push_back({"", held.base_seq, std::min(held.removed_last_seq, held.first_held_seq - 1)});
  }
  // Journal ranges first: the from_time range was appended after the origins.
  std::stable_partition(out.begin(), out.end(), [](const gap_range& g) { return g.origin.empty(); });
  return out;
}

} // namespace tandem::logic
