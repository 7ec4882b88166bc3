// The latest replication validation result per destination (replication_validation.hpp), for
// /status and /metrics. Written by replication connections (each its own broker) and read by the
// supervisor when it answers /status, hence the mutex (held for a map update or a copy, never
// across anything that waits). Bounded: one entry per configured destination.
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
};

} // namespace tandem::logic
