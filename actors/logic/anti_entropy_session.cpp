#include "actors/logic/anti_entropy_session.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <limits>
#include <utility>

namespace tandem::logic {

namespace ae = anti_entropy;

std::vector<std::pair<std::string, ae::difference>> merged(std::vector<std::pair<std::string, ae::difference>> found);

const char* to_string(anti_entropy_state s) noexcept {
  switch (s) {
    case anti_entropy_state::off: return "off";
    case anti_entropy_state::unsupported: return "unsupported";
    case anti_entropy_state::disconnected: return "disconnected";
    case anti_entropy_state::idle: return "idle";
    case anti_entropy_state::comparing: return "comparing";
  }
  return "?";
}

anti_entropy_session::anti_entropy_session(anti_entropy_settings s) : settings_(s) {
  if (settings_.interval_ms == 0)
    figures_.state = anti_entropy_state::off;
}

void anti_entropy_session::on_connected(std::uint16_t peer_minor, std::uint64_t now_ms) {
  if (settings_.interval_ms == 0)
    return;
  connected_ = true;
  supported_ = peer_minor >= settings_.min_peer_minor;
  settled_.clear(); // the new connection may reach another instance of the group
  settled_count_ = 0;
  recount();
  figures_.state = supported_ ? anti_entropy_state::idle : anti_entropy_state::unsupported;
  next_due_ms_ = now_ms; // at connect
}

void anti_entropy_session::on_disconnected() {
  if (settings_.interval_ms == 0)
    return;
  connected_ = false;
  outstanding_.clear();
  found_.clear();
  figures_.state = anti_entropy_state::disconnected;
}

std::vector<ae::digest_request> anti_entropy_session::due(std::uint64_t now_ms,
                                                          const std::vector<anti_entropy_origin>& origins) {
  if (figures_.state != anti_entropy_state::idle || !next_due_ms_ || now_ms < *next_due_ms_)
    return {};
  started_ms_ = now_ms;
  next_due_ms_ = now_ms + settings_.interval_ms;
  rounds_ = 0;
  found_.clear();
  outstanding_.clear();
  for (const auto& o : origins) {
    ae::digest_request req{o.origin, o.from, o.to, settings_.buckets};
    if (ae::check_request(req).empty())
      outstanding_.push_back(std::move(req));
  }
  figures_.state = anti_entropy_state::comparing;
  if (outstanding_.empty())
    finish();
  return outstanding_;
}

// `d` without what retention removed (up to `removed`); nullopt when nothing is left.
std::optional<ae::difference> above_removed(ae::difference d, std::uint64_t removed) {
  if (d.last <= removed)
    return std::nullopt;
  if (d.first > removed)
    return d;
  if (d.exact() && d.kind != ae::difference_kind::differs) {
    // One side holds all of it: of the part left it still holds all, the other none.
    d.first = removed + 1;
    (d.kind == ae::difference_kind::missing_right ? d.left_count : d.right_count) = d.last - d.first + 1;
    return d;
  }
  // Not exact: narrowed further, and the narrower buckets at or below `removed` drop out then.
  return d;
}

std::vector<ae::digest_request> anti_entropy_session::on_digests(const ae::digest& local, const ae::digest& peer,
                                                                 std::uint64_t removed_through) {
  auto it = std::find(outstanding_.begin(), outstanding_.end(), local.request);
  if (figures_.state != anti_entropy_state::comparing || it == outstanding_.end())
    return {};
  outstanding_.erase(it);
  const auto c = ae::compare(local, peer);
  std::vector<ae::digest_request> next;
  for (const auto& found : c.differing) {
    const auto kept = above_removed(found, removed_through);
    if (!kept)
      continue;
    const auto& d = *kept;
    auto narrower = rounds_ < settings_.max_rounds ? ae::drill_down(local.request.origin, d, settings_.buckets)
                                                   : std::nullopt;
    if (narrower) {
      ++rounds_;
      next.push_back(*narrower);
    } else {
      found_.emplace_back(local.request.origin, d);
    }
  }
  outstanding_.insert(outstanding_.end(), next.begin(), next.end());
  if (outstanding_.empty())
    finish();
  return next;
}

std::vector<ae::digest_request> anti_entropy_session::on_failed(const ae::digest_request& req) {
  auto it = std::find(outstanding_.begin(), outstanding_.end(), req);
  if (figures_.state != anti_entropy_state::comparing || it == outstanding_.end())
    return {};
  outstanding_.erase(it);
  if (outstanding_.empty())
    finish();
  return {};
}

// found_ sorted by origin then seq, with touching ranges of one kind joined per origin.
std::vector<std::pair<std::string, ae::difference>> merged(std::vector<std::pair<std::string, ae::difference>> found) {
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second.first < b.second.first;
  });
  std::vector<std::pair<std::string, ae::difference>> out;
  for (std::size_t i = 0; i < found.size();) {
    std::vector<ae::difference> one;
    std::size_t j = i;
    for (; j < found.size() && found[j].first == found[i].first; ++j)
      one.push_back(found[j].second);
    for (auto& d : ae::merge_adjacent(one))
      out.emplace_back(found[i].first, d);
    i = j;
  }
  return out;
}

void anti_entropy_session::finish() {
  findings_ = merged(std::move(found_));
  found_.clear();
  figures_.state = anti_entropy_state::idle;
  figures_.last_run_ms = started_ms_;
  ++figures_.comparisons;
  repairs_.clear();
  for (const auto& [origin, d] : findings_)
    if (d.kind == ae::difference_kind::missing_right && d.exact())
      repairs_.push_back({origin, d.first, d.last}); // settled ones too: the peer checks again
  recount();
}

bool anti_entropy_session::settled(const std::string& origin, std::uint64_t first, std::uint64_t last) const {
  auto o = settled_.find(origin);
  if (o == settled_.end())
    return false;
  // Intervals are merged when adjacent, so one interval must hold the whole range.
  auto it = o->second.upper_bound(first);
  if (it == o->second.begin())
    return false;
  --it;
  return it->first <= first && last <= it->second;
}

void anti_entropy_session::recount() {
  figures_.divergent_records = 0;
  figures_.held_elsewhere_records = 0;
  figures_.first_range.reset();
  figures_.first_origin.clear();
  for (const auto& [origin, d] : findings_) {
    if (d.kind == ae::difference_kind::missing_right && d.exact() && settled(origin, d.first, d.last)) {
      figures_.held_elsewhere_records += d.min_divergent();
      continue;
    }
    figures_.divergent_records += d.min_divergent();
    if (!figures_.first_range) {
      figures_.first_range = d;
      figures_.first_origin = origin;
    }
  }
}

void anti_entropy_session::on_repaired(const std::string& origin, std::uint64_t first, std::uint64_t last,
                                       std::uint64_t stored) {
  if (first > last)
    return;
  auto& ranges = settled_[origin];
  // A settled range absorbs the intervals it overlaps or touches (they stay merged, so one
  // interval holds any settled range); a range that was missing removes those it overlaps.
  std::uint64_t lo = first, hi = last;
  auto it = ranges.upper_bound(first);
  if (it != ranges.begin()) {
    auto before = std::prev(it);
    if (before->second >= first || (stored == 0 && before->second + 1 == first))
      it = before;
  }
  while (it != ranges.end()) {
    const bool overlaps = it->first <= last;
    const bool touches = stored == 0 && last != std::numeric_limits<std::uint64_t>::max() && it->first == last + 1;
    if (!overlaps && !touches)
      break;
    if (stored == 0) {
      lo = std::min(lo, it->first);
      hi = std::max(hi, it->second);
    }
    it = ranges.erase(it);
    --settled_count_;
  }
  if (stored == 0) {
    if (settled_count_ < settings_.max_settled) {
      ranges.emplace(lo, hi);
      ++settled_count_;
    } else {
      ++figures_.settled_overflows;
    }
  }
  if (ranges.empty())
    settled_.erase(origin);
  recount();
}

std::vector<anti_entropy_repair> anti_entropy_session::take_repairs() {
  return std::exchange(repairs_, {});
}

} // namespace tandem::logic
