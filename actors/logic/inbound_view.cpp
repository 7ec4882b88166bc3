#include "actors/logic/inbound_view.hpp"

#include <algorithm>

namespace tandem::logic {

inbound_view::inbound_view(std::string local_instance, std::size_t max_origins)
    : local_(std::move(local_instance)), max_origins_(max_origins) {
  origins_.emplace(local_, inbound_origin{}); // pinned: not counted against max_origins
}

inbound_origin* inbound_view::entry(std::string_view origin) {
  if (auto it = origins_.find(origin); it != origins_.end())
    return &it->second;
  if (origins_.size() - 1 >= max_origins_) { // -1: this node's own origin is not counted
    if (!noted_) {
      noted_ = true;
      note_ = "inbound view: " + std::to_string(max_origins_) + " origins tracked already; records of "
              + std::string{origin} + " and of further new origins count only in the totals (untracked_records)";
    }
    return nullptr;
  }
  return &origins_.emplace(std::string{origin}, inbound_origin{}).first->second;
}

void inbound_view::load(std::string_view origin) {
  ++total_records_;
  if (auto* e = entry(origin))
    ++e->records;
  else
    ++untracked_records_;
}

void inbound_view::submitted(std::uint64_t id, inbound_via via, const std::vector<journal::record>& records) {
  pending_batch b{std::move(via), {}};
  for (const auto& r : records) {
    const std::string_view origin = r.origin.empty() ? std::string_view{local_} : std::string_view{r.origin};
    auto it = std::find_if(b.counts.begin(), b.counts.end(), [&](const auto& c) { return c.first == origin; });
    if (it == b.counts.end())
      b.counts.emplace_back(std::string{origin}, 1);
    else
      ++it->second;
  }
  if (!b.counts.empty())
    pending_[id] = std::move(b);
}

void inbound_view::committed(std::uint64_t id, bool ok, std::uint64_t now_ms) {
  auto it = pending_.find(id);
  if (it == pending_.end())
    return;
  auto b = std::move(it->second);
  pending_.erase(it);
  if (!ok)
    return; // not durable: never counted
  for (const auto& [origin, n] : b.counts) {
    total_records_ += n;
    total_received_ += n;
    auto* e = entry(origin);
    if (!e) {
      untracked_records_ += n;
      continue;
    }
    e->records += n;
    e->received += n;
    e->last_received_ms = now_ms;
    e->via = b.via;
  }
}

std::optional<std::string> inbound_view::take_note() {
  auto out = std::move(note_);
  note_.reset();
  return out;
}

} // namespace tandem::logic
