#include "client/publish_store.hpp"

#include <algorithm>
#include <utility>

namespace tandem::client {

bool publish_store::has_room_for(std::size_t bytes) const {
  return held_.size() < limits_.max_messages && bytes <= limits_.max_bytes - std::min(bytes_, limits_.max_bytes);
}

store_status publish_store::append(std::uint64_t seq, std::string_view topic, std::string_view payload) {
  const std::size_t bytes = topic.size() + payload.size();
  if (seq <= last_seq_)
    return store_error{store_errc::out_of_order,
                       "publish store: seq " + std::to_string(seq) + " is not above the last seq " +
                         std::to_string(last_seq_)};
  if (bytes > limits_.max_bytes)
    return store_error{store_errc::too_large, "publish store: a message of " + std::to_string(bytes) +
                                                " bytes exceeds the store's max_bytes of " +
                                                std::to_string(limits_.max_bytes)};
  if (!has_room_for(bytes))
    return store_error{store_errc::full,
                       "publish store full: " + std::to_string(held_.size()) + " messages, " +
                         std::to_string(bytes_) + " bytes awaiting acks (limits " +
                         std::to_string(limits_.max_messages) + " messages, " +
                         std::to_string(limits_.max_bytes) + " bytes)"};
  stored_message m{std::string{topic}, std::string{payload}};
  if (auto err = persist_append(seq, m))
    return err;
  restore_message(seq, std::move(m));
  return std::nullopt;
}

void publish_store::restore_message(std::uint64_t seq, stored_message m) {
  drop(seq); // a seq appears once in a file; if not, the later record wins, counted once
  persisted_count_ += m.persisted ? 1 : 0;
  bytes_ += m.bytes();
  last_seq_ = std::max(last_seq_, seq);
  held_.insert_or_assign(seq, std::move(m));
}

std::size_t publish_store::ack_through(std::uint64_t seq) {
  if (seq <= acked_through_)
    return 0;
  const std::size_t dropped = drop_through(seq);
  record_durability_error(persist_ack(seq));
  return dropped;
}

bool publish_store::refuse(std::uint64_t seq) {
  if (!drop(seq))
    return false;
  record_durability_error(persist_refuse(seq));
  return true;
}

bool publish_store::mark_persisted(std::uint64_t seq) {
  if (!mark(seq))
    return false;
  record_durability_error(persist_mark(seq));
  return true;
}

std::size_t publish_store::complete(std::uint64_t first, std::uint64_t last) {
  const std::size_t dropped = drop_marked(first, last);
  if (dropped > 0)
    record_durability_error(persist_complete(first, last));
  return dropped;
}

// Marked messages survive: the node's cumulative ack says it holds them, not that every sync
// destination does.
std::size_t publish_store::drop_through(std::uint64_t seq) {
  acked_through_ = std::max(acked_through_, seq);
  last_seq_ = std::max(last_seq_, seq);
  std::size_t dropped = 0;
  auto end = held_.upper_bound(seq);
  for (auto it = held_.begin(); it != end;) {
    if (it->second.persisted) {
      ++it;
      continue;
    }
    bytes_ -= it->second.bytes();
    ++dropped;
    it = held_.erase(it);
  }
  return dropped;
}

bool publish_store::drop(std::uint64_t seq) {
  auto it = held_.find(seq);
  if (it == held_.end())
    return false;
  bytes_ -= it->second.bytes();
  persisted_count_ -= it->second.persisted ? 1 : 0;
  held_.erase(it);
  return true;
}

bool publish_store::mark(std::uint64_t seq) {
  auto it = held_.find(seq);
  if (it == held_.end() || it->second.persisted)
    return false;
  it->second.persisted = true;
  ++persisted_count_;
  return true;
}

std::size_t publish_store::drop_marked(std::uint64_t first, std::uint64_t last) {
  std::size_t dropped = 0;
  for (auto it = held_.lower_bound(first); it != held_.end() && it->first <= last;) {
    if (!it->second.persisted) {
      ++it;
      continue;
    }
    bytes_ -= it->second.bytes();
    --persisted_count_;
    ++dropped;
    it = held_.erase(it);
  }
  return dropped;
}

} // namespace tandem::client
