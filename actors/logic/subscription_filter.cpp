#include "actors/logic/subscription_filter.hpp"

#include <algorithm>

namespace tandem::logic {

subscription_filter::subscription_filter(const std::vector<std::pair<std::string, std::uint64_t>>& bookmark,
                                         std::optional<std::int64_t> from_time_ns)
    : from_time_(from_time_ns) {
  for (const auto& [origin, seq] : bookmark) {
    auto& v = seen_[origin];
    v = std::max(v, seq);
  }
}

bool subscription_filter::admit(std::string_view origin, std::uint64_t origin_seq, std::int64_t timestamp_ns) {
  if (from_time_) {
    if (timestamp_ns < *from_time_)
      return false;
    from_time_.reset(); // the gate opens for good at the first record at or after the time
  }
  auto it = seen_.find(origin);
  return it == seen_.end() || origin_seq > it->second;
}

} // namespace tandem::logic
