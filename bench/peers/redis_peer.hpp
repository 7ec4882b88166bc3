// The Redis peer of replication_bench (issue 19), as the bench sees it: a Redis primary and one
// replica on 127.0.0.1 (both `appendonly yes` + `appendfsync always`), and a publisher that
// writes 1 KiB with XADD and waits for the replica with WAIT 1. The implementation is chosen when
// the bench is built: bench/peers/redis_pair.cpp with Debian libhiredis-dev, otherwise
// bench/peers/redis_unavailable.cpp, whose make_redis_peer says why there is no peer. No #ifdef.
#pragma once

#include <cstdint>
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
  // Ends the connection and gives its figures.
  virtual redis_run close() = 0;
};

// Starts the pair under `dir` (registered with the bench's cleanup) and waits until the replica
// is online. nullptr with `why` set when there is no peer: redis-server is not installed, or the
// bench was built without libhiredis-dev.
std::unique_ptr<redis_peer> make_redis_peer(const std::string& dir, std::string& why);

} // namespace tandem::bench
