// Facts about the running node that do not change after startup, shared by the supervisor and
// whatever reports status. Plain data: no CAF.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "config/node_config.hpp"

namespace tandem {

struct node_info {
  config::node_config config;
  std::string version;      // Tandem's version
  std::string caf_version;  // e.g. "0.17.6"
  std::int64_t pid = 0;
  std::int64_t started_unix_ms = 0;
  std::uint16_t replication_port = 0; // as bound
  std::uint16_t client_port = 0;
  std::uint16_t admin_port = 0;
  std::string instance_id; // this data dir's identity, 32 hex digits (journal/instance_id.hpp)
};

// Wall-clock milliseconds since the Unix epoch, as status reports them (started_unix_ms, a link's
// last connect and disconnect).
inline std::int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

} // namespace tandem
