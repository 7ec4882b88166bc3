#include "actors/logic/anti_entropy_repair.hpp"

#include <algorithm>
#include <iterator>
#include <set>
#include <utility>

namespace tandem::logic {

repair_sender::repair_sender(std::size_t max_batch_bytes, std::size_t max_ranges)
  : max_batch_bytes_(std::max<std::size_t>(max_batch_bytes, 1)), max_ranges_(max_ranges) {}

void repair_sender::add(const std::vector<anti_entropy_repair>& found) {
  for (const auto& r : found) {
    if (r.last < r.first)
      continue;
    if (queue_.size() >= max_ranges_) {
      ++figures_.ranges_dropped;
      continue;
    }
    queue_.push_back(r);
  }
}

std::optional<repair_read> repair_sender::next() {
  if (stage_ != stage::idle || queue_.empty())
    return std::nullopt;
  stage_ = stage::reading;
  const auto& r = queue_.front();
  return repair_read{r.origin, r.first, r.last, max_batch_bytes_};
}

bool repair_sender::on_read(std::uint64_t through, std::size_t records) {
  if (stage_ != stage::reading)
    return false;
  auto& front = queue_.front();
  const anti_entropy_repair covered{front.origin, front.first, std::min(through, front.last)};
  if (through >= front.last)
    queue_.pop_front();
  else
    front.first = std::max(front.first, through + 1);
  if (records == 0) {
    stage_ = stage::idle;
    return false;
  }
  in_flight_range_ = covered;
  stage_ = stage::awaiting_ack;
  in_flight_ = records;
  figures_.records_sent += records;
  ++figures_.batches_sent;
  return true;
}

void repair_sender::on_read_failed() {
  if (stage_ != stage::reading)
    return;
  queue_.pop_front();
  ++figures_.ranges_dropped;
  stage_ = stage::idle;
}

std::string repair_sender::on_ack(std::uint64_t records, std::uint64_t stored) {
  if (stage_ != stage::awaiting_ack)
    return "repair_ack (" + std::to_string(records) + " records) answers no repair_batch of ours";
  if (records != in_flight_)
    return "repair_ack counts " + std::to_string(records) + " records, the repair_batch carried " +
           std::to_string(in_flight_);
  figures_.records_stored += std::min(stored, records);
  answered_ = repair_answer{in_flight_range_, std::min(stored, records)};
  in_flight_ = 0;
  stage_ = stage::idle;
  return {};
}

std::optional<repair_answer> repair_sender::take_answered() {
  return std::exchange(answered_, std::nullopt);
}

void repair_sender::on_disconnected() {
  figures_.ranges_dropped += queue_.size();
  queue_.clear();
  in_flight_ = 0;
  answered_.reset();
  stage_ = stage::idle;
}

repair_figures repair_sender::figures() const {
  auto f = figures_;
  f.queued = queue_.size();
  return f;
}

std::string check_repair_record(std::string_view local, std::string_view origin,
                                std::span<const std::string_view> path) {
  if (origin == local)
    return "origin " + std::string{origin} + " is this node: its records cannot be missing here";
  if (std::find(path.begin(), path.end(), local) != path.end())
    return "its path holds this node (" + std::string{local} + "): an echo of a record that passed here";
  return {};
}

std::vector<verdict> repair_verdicts(std::span<const inbound_record> records, const repair_held_fn& held) {
  std::vector<verdict> out;
  out.reserve(records.size());
  std::set<std::pair<std::string_view, std::uint64_t>> seen;
  for (const auto& r : records) {
    const bool fresh = seen.emplace(r.origin_instance, r.origin_seq).second;
    out.push_back(fresh && !held(r.origin_instance, r.origin_seq) ? verdict::store : verdict::duplicate);
  }
  return out;
}

void repair_index::add(std::string_view origin, std::uint64_t origin_seq, std::string_view publisher,
                       std::uint64_t publisher_seq) {
  insert(origins_, origin, origin_seq);
  if (publisher_seq != 0)
    insert(publishers_, publisher, publisher_seq);
}

bool repair_index::holds(std::string_view origin, std::uint64_t origin_seq) const {
  return contains(origins_, origin, origin_seq);
}

bool repair_index::holds_message(std::string_view publisher, std::uint64_t publisher_seq) const {
  return publisher_seq != 0 && contains(publishers_, publisher, publisher_seq);
}

void repair_index::clear() {
  origins_.clear();
  publishers_.clear();
  entries_ = 0;
  scanned_through_ = 0;
}

void repair_index::insert(std::map<std::string, intervals, std::less<>>& by_name, std::string_view name,
                          std::uint64_t v) {
  auto named = by_name.find(name);
  if (named == by_name.end()) {
    named = by_name.emplace(std::string{name}, intervals{}).first;
    ++entries_;
  }
  auto& set = named->second;
  // The interval at or before v: extend it, or start one; then merge with the one after.
  auto it = set.upper_bound(v);
  if (it != set.begin()) {
    auto prev = std::prev(it);
    if (v <= prev->second)
      return; // held already
    if (v == prev->second + 1) {
      prev->second = v;
      if (it != set.end() && it->first == v + 1) {
        prev->second = it->second;
        set.erase(it);
        --entries_;
      }
      return;
    }
  }
  if (it != set.end() && it->first == v + 1) {
    const auto last = it->second;
    set.erase(it);
    set.emplace(v, last);
    return;
  }
  set.emplace(v, v);
  ++entries_;
}

bool repair_index::contains(const std::map<std::string, intervals, std::less<>>& by_name, std::string_view name,
                            std::uint64_t v) {
  const auto named = by_name.find(name);
  if (named == by_name.end())
    return false;
  auto it = named->second.upper_bound(v);
  return it != named->second.begin() && v <= std::prev(it)->second;
}

} // namespace tandem::logic
