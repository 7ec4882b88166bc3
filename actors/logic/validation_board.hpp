// The latest replication validation result per destination (replication_validation.hpp), for
// /status and /metrics. Written by replication connections (each its own broker) and read by the
// supervisor when it answers /status, hence the mutex (held for a map update or a copy, never
// across anything that waits). Bounded: one entry per configured destination. Also rate-limits
// the log line of a strict refusal (refusal_to_log).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/logic/replication_validation.hpp"

namespace tandem::logic {

struct validation_entry {
  std::string instance;  // the destination's instance that was validated
  bool performed = false; // false: the peer speaks protocol < 1.4 and sent no claims
  validation_verdict verdict = validation_verdict::ok;
  std::vector<validation_problem> problems;
  std::uint64_t unix_ms = 0;
  std::string refused_by_peer; // the peer's close{validation_failed} reason: its checks failed
};

class validation_board {
public:
  void record(const std::string& destination, validation_entry e) {
    std::lock_guard<std::mutex> lock(mutex_);
    by_destination_[destination] = std::move(e);
  }

  // A strict refusal goes into the log at most once a minute per destination: a peer with a
  // broken contract redials at its backoff rate (every 2 s by default), and each attempt is
  // refused again. Returns the refusals not said since the last line said (0 for the first), or
  // nullopt when this one is not said either (counted for the next line). Time is data.
  std::optional<std::uint64_t> refusal_to_log(const std::string& destination, std::uint64_t now_ms) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& l = refusal_log_[destination];
    if (l.said && now_ms < l.last_ms + refusal_log_interval_ms) {
      ++l.unsaid;
      return std::nullopt;
    }
    const auto covered = l.unsaid;
    l = {true, now_ms, 0};
    return covered;
  }

  static constexpr std::uint64_t refusal_log_interval_ms = 60'000;

  std::optional<validation_entry> latest(const std::string& destination) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = by_destination_.find(destination);
    if (it == by_destination_.end())
      return std::nullopt;
    return it->second;
  }

private:
  mutable std::mutex mutex_;
  std::map<std::string, validation_entry> by_destination_;
  struct refusal_log {
    bool said = false;
    std::uint64_t last_ms = 0;
    std::uint64_t unsaid = 0;
  };
  std::map<std::string, refusal_log> refusal_log_; // keyed like by_destination_: configured names only
};

} // namespace tandem::logic
