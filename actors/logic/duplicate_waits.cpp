#include "actors/logic/duplicate_waits.hpp"

#include <algorithm>

namespace tandem::logic {

bool duplicate_waits::all_safe(const std::vector<original>& originals, const publisher_dedup& marks) {
  return std::all_of(originals.begin(), originals.end(),
                     [&](const original& o) { return marks.is_safe(o.publisher, o.publisher_seq); });
}

std::vector<std::size_t> duplicate_waits::unsafe_positions(const std::vector<original>& originals,
                                                          const publisher_dedup& marks) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < originals.size(); ++i)
    if (!marks.is_safe(originals[i].publisher, originals[i].publisher_seq))
      out.push_back(i);
  return out;
}

void duplicate_waits::wait(std::uint64_t token, std::vector<original> originals) {
  waiting_.push_back({token, std::move(originals), 0});
}

std::vector<std::uint64_t> duplicate_waits::take_safe(const publisher_dedup& marks) {
  std::vector<std::uint64_t> out;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    auto& o = it->originals;
    // Safe marks only rise, so what was safe stays safe: resume where the last look stopped.
    while (it->checked < o.size() && marks.is_safe(o[it->checked].publisher, o[it->checked].publisher_seq))
      ++it->checked;
    if (it->checked < o.size()) {
      ++it;
      continue;
    }
    out.push_back(it->token);
    it = waiting_.erase(it);
  }
  return out;
}

std::vector<duplicate_waits::lost> duplicate_waits::take_on_write_error(const publisher_dedup& marks) {
  std::vector<lost> out;
  out.reserve(waiting_.size());
  for (auto& w : waiting_)
    out.push_back({w.token, unsafe_positions(w.originals, marks)});
  waiting_.clear();
  return out;
}

} // namespace tandem::logic
