#include "actors/logic/publisher_dedup.hpp"

#include <algorithm>
#include <cassert>

namespace tandem::logic {

publisher_dedup::publisher_dedup(std::size_t max_publishers) : max_(std::max<std::size_t>(max_publishers, 1)) {}

const publisher_dedup::entry* publisher_dedup::find(std::string_view publisher) const {
  auto it = marks_.find(publisher);
  return it == marks_.end() ? nullptr : &it->second;
}

publisher_dedup::entry& publisher_dedup::touch(std::string_view publisher) {
  if (auto it = marks_.find(publisher); it != marks_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second;
  }
  if (marks_.size() >= max_) {
    const std::string* oldest = lru_.back();
    auto victim = marks_.find(*oldest);
    assert(victim != marks_.end());
    if (victim->second.tail_local_seq != 0)
      startup_tail_.erase(victim->second.tail_local_seq);
    lru_.pop_back();
    marks_.erase(victim);
    ++evictions_;
  }
  auto [it, added] = marks_.emplace(std::string{publisher}, entry{});
  lru_.push_front(&it->first); // keys of an unordered_map never move (node-based)
  it->second.lru = lru_.begin();
  return it->second;
}

void publisher_dedup::load(std::string_view publisher, std::uint64_t publisher_seq, std::uint64_t local_seq,
                           bool safe) {
  if (publisher_seq == 0)
    return;
  auto& e = touch(publisher);
  e.accepted = std::max(e.accepted, publisher_seq);
  e.durable = std::max(e.durable, publisher_seq);
  if (safe) {
    e.safe = std::max(e.safe, publisher_seq);
    return;
  }
  if (e.tail_local_seq != 0)
    startup_tail_.erase(e.tail_local_seq);
  e.tail_local_seq = local_seq;
  e.tail_publisher_seq = std::max(e.tail_publisher_seq, publisher_seq);
  startup_tail_.emplace(local_seq, std::string{publisher});
}

bool publisher_dedup::admit(std::string_view publisher, std::uint64_t publisher_seq) {
  if (publisher_seq == 0)
    return true;
  auto& e = touch(publisher);
  if (publisher_seq <= e.accepted)
    return false;
  e.accepted = publisher_seq;
  return true;
}

void publisher_dedup::on_durable(std::string_view publisher, std::uint64_t publisher_seq) {
  if (publisher_seq == 0)
    return;
  auto& e = touch(publisher);
  e.durable = std::max(e.durable, publisher_seq);
  e.accepted = std::max(e.accepted, e.durable); // an evicted and re-created id catches up
}

void publisher_dedup::on_safe(std::string_view publisher, std::uint64_t publisher_seq) {
  if (publisher_seq == 0)
    return;
  auto& e = touch(publisher);
  e.safe = std::max(e.safe, publisher_seq);
  e.durable = std::max(e.durable, e.safe);
  e.accepted = std::max(e.accepted, e.durable);
}

void publisher_dedup::on_release_bound(std::uint64_t bound) {
  while (!startup_tail_.empty() && startup_tail_.begin()->first <= bound) {
    auto node = startup_tail_.extract(startup_tail_.begin());
    if (auto it = marks_.find(node.mapped()); it != marks_.end()) {
      auto& e = it->second;
      e.safe = std::max(e.safe, e.tail_publisher_seq);
      e.tail_local_seq = 0;
      e.tail_publisher_seq = 0;
    }
  }
}

void publisher_dedup::on_append_failed() {
  for (auto& [name, e] : marks_) {
    e.accepted = e.durable;
    e.first_local_submitted = e.first_local;
  }
}

namespace {
void lower(std::uint64_t& v, std::uint64_t seq) {
  if (v == 0 || seq < v)
    v = seq;
}
} // namespace

void publisher_dedup::note_local_submitted(std::string_view publisher, std::uint64_t publisher_seq) {
  if (publisher_seq != 0)
    lower(touch(publisher).first_local_submitted, publisher_seq);
}

void publisher_dedup::note_local(std::string_view publisher, std::uint64_t publisher_seq) {
  if (publisher_seq == 0)
    return;
  auto& e = touch(publisher);
  lower(e.first_local, publisher_seq);
  lower(e.first_local_submitted, publisher_seq);
}

std::uint64_t publisher_dedup::first_local(std::string_view publisher) const {
  const auto* e = find(publisher);
  return e ? e->first_local_submitted : 0;
}

std::uint64_t publisher_dedup::logon_mark(std::string_view publisher) {
  auto it = marks_.find(publisher);
  if (it == marks_.end())
    return 0;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.safe;
}

bool publisher_dedup::is_safe(std::string_view publisher, std::uint64_t publisher_seq) const {
  if (publisher_seq == 0)
    return true;
  const auto* e = find(publisher);
  return e != nullptr && publisher_seq <= e->safe;
}

std::uint64_t publisher_dedup::accepted(std::string_view publisher) const {
  const auto* e = find(publisher);
  return e ? e->accepted : 0;
}

std::uint64_t publisher_dedup::durable(std::string_view publisher) const {
  const auto* e = find(publisher);
  return e ? e->durable : 0;
}

} // namespace tandem::logic
