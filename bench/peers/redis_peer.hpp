// The Redis peer of replication_bench (issue 19) and wan_bench (issue 20), as a bench sees it: a Redis primary and one
// replica on 127.0.0.1 (both `appendonly yes` + `appendfsync always`), and a publisher that
// writes 1 KiB with XADD and waits for the replica with WAIT 1. The implementation is chosen when
// the bench is built: bench/peers/redis_pair.cpp with Debian libhiredis-dev, otherwise
// bench/peers/redis_unavailable.cpp, whose make_redis_peer says why there is no peer. No #ifdef.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace tandem::bench {

// What one publishing connection did between open() and close().
struct redis_run {
  std::size_t per_wait = 1;           // XADDs per WAIT 1
  std::uint64_t messages = 0;         // acknowledged by the replica
  double seconds = 0;                 // publishing time
  std::vector<double> latencies_us;   // each message: its XADD's write to its WAIT's reply
  double cpu_primary_s = 0, cpu_replica_s = 0;
};

class redis_peer {
public:
  virtual ~redis_peer() = default;
  // A publishing connection to the primary that writes `per_wait` messages before each WAIT 1
  // (1 = one outstanding; 100 = pipelined); kept across slices until close().
  virtual void open(std::size_t per_wait) = 0;
  // Publishes for `seconds` on the open connection; throws bench_error on any error reply.
  virtual void run_slice(double seconds, const std::string& payload) = 0;
  // One batch (per_wait XADDs and a WAIT 1) per payload, in order, idling `gap` after each
  // WAIT's reply (0: back to back); throws bench_error on any error reply.
  virtual void run_each(const std::vector<std::string>& payloads, std::chrono::milliseconds gap) = 0;
  // Ends the connection and gives its figures.
  virtual redis_run close() = 0;
};

// Where the replica runs and what it dials to reach the primary. The default: both on 127.0.0.1,
// the replica dialing the primary's port. wan_bench puts the replica in the rig's network
// namespace (`replica_prefix` = ip netns exec NS) and has it dial a delay proxy in front of the
// primary, so that its replication stream crosses the same link as a Tandem pair's.
struct redis_route {
  std::vector<std::string> replica_prefix; // prepended to the replica's command line
  std::string replica_bind = "127.0.0.1";
  std::string primary_host = "127.0.0.1"; // what the replica dials (replicaof)
  std::uint16_t primary_port = 0;         // 0: the primary's own port
  // false: no replica at all, a lone primary, and no WAIT after the XADDs (replication_bench's
  // single-node reference: each XADD is answered once fsynced).
  bool replica = true;
};
// Called once the primary's port is chosen and the primary started, before the replica starts.
using redis_router = std::function<redis_route(std::uint16_t primary_port)>;

// Starts the pair under `dir` (registered with the bench's cleanup) and waits until the replica
// is online. nullptr with `why` set when there is no peer: redis-server is not installed, or the
// bench was built without libhiredis-dev.
std::unique_ptr<redis_peer> make_redis_peer(const std::string& dir, std::string& why, const redis_router& route = {});

} // namespace tandem::bench
