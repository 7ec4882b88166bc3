#include "actors/logic/inbound_dedup.hpp"

#include <algorithm>

namespace tandem::logic {

origin_filter::origin_filter(std::string local_instance, held_fn held)
    : local_(std::move(local_instance)), held_(std::move(held)) {}

std::vector<verdict> origin_filter::classify(std::span<const inbound_record> records) {
  std::vector<verdict> out;
  out.reserve(records.size());
  std::vector<std::string_view> asked; // origins whose held() was asked in this batch
  for (const inbound_record& r : records) {
    // Our own origin: only a refilled record from an earlier incarnation (below our base) may be
    // new; its high-water lives under our own name.
    if (r.origin_instance == local_ && (!held_earlier_own_ || r.origin_seq >= own_base_)) {
      out.push_back(verdict::duplicate);
      continue;
    }
    auto it = high_water_.find(r.origin_instance);
    if (it == high_water_.end())
      it = high_water_.emplace(std::string{r.origin_instance}, 0).first;
    // held() can grow through other writers, so ask once per origin per batch.
    if (std::find(asked.begin(), asked.end(), r.origin_instance) == asked.end()) {
      it->second = std::max(it->second, held_for(r.origin_instance));
      asked.push_back(r.origin_instance);
    }
    if (r.origin_seq <= it->second) {
      out.push_back(verdict::duplicate);
      continue;
    }
    it->second = r.origin_seq;
    out.push_back(verdict::store);
  }
  return out;
}

void origin_filter::accept_earlier_own(std::uint64_t own_base, std::function<std::uint64_t()> held_earlier_own) {
  own_base_ = own_base;
  held_earlier_own_ = std::move(held_earlier_own);
}

void origin_filter::forget(std::string_view origin) {
  if (auto it = high_water_.find(origin); it != high_water_.end())
    high_water_.erase(it); // the next classify() starts again from held(origin)
}

std::uint64_t origin_filter::held_for(std::string_view origin) const {
  if (origin == local_)
    return held_earlier_own_ ? held_earlier_own_() : 0;
  return held_(origin);
}

inbound_dedup::inbound_dedup(std::string local_instance, held_fn held,
                             std::uint64_t durable_from_peer)
    : filter_(std::move(local_instance), std::move(held)),
      durable_from_peer_(durable_from_peer), ack_ready_(durable_from_peer) {}

classified_batch inbound_dedup::classify(std::span<const inbound_record> records) {
  classified_batch out;
  out.id = next_id_++;
  out.verdicts = filter_.classify(records);
  out.to_store = static_cast<std::size_t>(std::count(out.verdicts.begin(), out.verdicts.end(), verdict::store));
  duplicates_ += out.verdicts.size() - out.to_store;
  const std::uint64_t last_peer_seq = records.empty() ? 0 : records.back().peer_seq;
  if (out.to_store == 0) {
    // Complete at once; it still waits behind earlier batches for its ack.
    if (batches_.empty() && !failed_)
      ack_ready_ = std::max(ack_ready_, last_peer_seq);
    else
      batches_.push_back({out.id, last_peer_seq, batch_state::durable, {}});
    return out;
  }
  // Only origins with stored records need resetting on failure.
  std::vector<std::string> stored_origins;
  for (std::size_t i = 0; i < records.size(); ++i)
    if (out.verdicts[i] == verdict::store &&
        std::find(stored_origins.begin(), stored_origins.end(), records[i].origin_instance) ==
            stored_origins.end())
      stored_origins.emplace_back(records[i].origin_instance);
  batches_.push_back({out.id, last_peer_seq, batch_state::submitted, std::move(stored_origins)});
  return out;
}

inbound_dedup::batch* inbound_dedup::find(std::uint64_t batch_id) {
  auto it = std::find_if(batches_.begin(), batches_.end(),
                         [&](const batch& b) { return b.id == batch_id; });
  return it == batches_.end() ? nullptr : &*it;
}

void inbound_dedup::on_batch_durable(std::uint64_t batch_id) {
  if (batch* b = find(batch_id); b && b->state == batch_state::submitted)
    b->state = batch_state::durable;
}

void inbound_dedup::on_batch_failed(std::uint64_t batch_id) {
  batch* b = find(batch_id);
  if (!b || b->state != batch_state::submitted)
    return;
  b->state = batch_state::failed;
  failed_ = true;
  for (const std::string& origin : b->origins)
    filter_.forget(origin);
}

void inbound_dedup::accept_earlier_own(std::uint64_t own_base, std::function<std::uint64_t()> held_earlier_own) {
  filter_.accept_earlier_own(own_base, std::move(held_earlier_own));
}

std::optional<std::uint64_t> inbound_dedup::ack_to_send() {
  // A failed batch stays at the front forever: nothing after it may be acked.
  while (!batches_.empty() && batches_.front().state == batch_state::durable) {
    ack_ready_ = std::max(ack_ready_, batches_.front().last_peer_seq);
    batches_.pop_front();
  }
  if (ack_ready_ <= durable_from_peer_)
    return std::nullopt;
  durable_from_peer_ = ack_ready_;
  return durable_from_peer_;
}

} // namespace tandem::logic
