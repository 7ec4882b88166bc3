// What every replication actor of a node needs to know: who this node is, the limits, and the
// actors it talks to. Built once by the supervisor and shared read-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>

#include "actors/journal_actor.hpp"
#include "actors/journal_runtime.hpp"

namespace tandem {

struct replication_context {
  std::string name;  // this instance
  std::string group; // this instance's group
  caf::actor supervisor;
  caf::actor timers; // timer_relay.hpp: timers that do not keep brokers alive
  journal_actor journal;
  std::shared_ptr<journal_runtime> runtime; // thread-safe reads (highest_origin_seq, cursors)
  caf::actor resolver;                      // address_cycler_actor.hpp: name resolution for every cycler
  std::vector<caf::actor> journal_readers;  // journal_reader.hpp: disk reads for links behind the window
  std::uint32_t max_frame_bytes = 16u << 20;
  std::uint32_t max_topic_bytes = 4096; // limits.max_topic_bytes: longest topic a client may publish
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds silence_timeout{10000}; // nothing received for this long: peer is gone
  std::chrono::milliseconds stall_after{10000};     // metrics.stall_after_ms
};

} // namespace tandem
