// Two live peers with one instance name and different instance ids (hello.instance_id, protocol
// 1.3): the supervisor refuses the second with close{identity_conflict} and keeps the facts here
// for /status, /metrics and a log that says it at most once a minute per name (a refused peer
// retries at its backoff rate, forever: one line per attempt would flood the log).
//
// Plain: the time is data (unix ms). Bounded: at most max_names names are remembered; a new name
// beyond that evicts the one seen longest ago (names come from outside).
#pragma once

#include <atomic>
#include <cstddef>
#include <climits>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

namespace tandem::logic {

struct identity_conflict {
  std::string kept_id, kept_address;       // the connection in use
  std::string refused_id, refused_address; // the latest one refused
  std::uint64_t count = 0;                 // refusals for this name
  std::uint64_t first_unix_ms = 0, last_unix_ms = 0;
  std::uint64_t logged_unix_ms = 0;        // when the log last said it
  std::uint64_t unlogged = 0;              // refusals since then that the log did not say
};

class identity_conflicts {
public:
  static constexpr std::uint64_t log_interval_ms = 60'000;
  explicit identity_conflicts(std::size_t max_names = 64) : max_names_(max_names) {}

  // Records a refusal. Returns the number of refusals the log line should cover (this one and
  // those not logged since the last line) when it is time to log, nullopt otherwise.
  std::optional<std::uint64_t> refused(const std::string& name, const identity_conflict& facts, std::uint64_t now_ms) {
    ++total_;
    auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      evict_if_full();
      it = by_name_.emplace(name, facts).first;
      it->second.count = 0;
      it->second.first_unix_ms = now_ms;
      it->second.logged_unix_ms = 0;
      it->second.unlogged = 0;
    }
    auto& e = it->second;
    e.kept_id = facts.kept_id;
    e.kept_address = facts.kept_address;
    e.refused_id = facts.refused_id;
    e.refused_address = facts.refused_address;
    ++e.count;
    e.last_unix_ms = now_ms;
    ++e.unlogged;
    if (e.logged_unix_ms != 0 && now_ms < e.logged_unix_ms + log_interval_ms)
      return std::nullopt;
    e.logged_unix_ms = now_ms == 0 ? 1 : now_ms;
    return std::exchange(e.unlogged, 0);
  }

  const std::map<std::string, identity_conflict>& by_name() const { return by_name_; }
  std::uint64_t total() const { return total_; }

private:
  void evict_if_full() {
    if (by_name_.size() < max_names_ || by_name_.empty())
      return;
    auto oldest = by_name_.begin();
    for (auto it = by_name_.begin(); it != by_name_.end(); ++it)
      if (it->second.last_unix_ms < oldest->second.last_unix_ms)
        oldest = it;
    by_name_.erase(oldest);
  }

  std::size_t max_names_;
  std::map<std::string, identity_conflict> by_name_;
  std::uint64_t total_ = 0;
};

// The other side: a peer refused this node with close{identity_conflict} (another node with this
// node's name is connected there). Shared by every connection of the node (atomics, like
// memory_budget's counters); the log says it at most once a minute too.
class identity_refusals {
public:
  // Counts one refusal. Returns how many refusals the log line should cover when it is time to
  // log (at most once per log_interval_ms), nullopt otherwise.
  std::optional<std::uint64_t> refused(std::int64_t now_ms) {
    total_.fetch_add(1, std::memory_order_relaxed);
    unlogged_.fetch_add(1, std::memory_order_relaxed);
    auto last = logged_ms_.load(std::memory_order_relaxed);
    const auto interval = static_cast<std::int64_t>(identity_conflicts::log_interval_ms);
    if (last != never && now_ms < last + interval)
      return std::nullopt;
    if (!logged_ms_.compare_exchange_strong(last, now_ms, std::memory_order_relaxed))
      return std::nullopt; // another connection logs it
    return unlogged_.exchange(0, std::memory_order_relaxed);
  }
  std::uint64_t total() const { return total_.load(std::memory_order_relaxed); }

private:
  static constexpr std::int64_t never = INT64_MIN;
  std::atomic<std::int64_t> logged_ms_{never};
  std::atomic<std::uint64_t> unlogged_{0}, total_{0};
};

} // namespace tandem::logic
