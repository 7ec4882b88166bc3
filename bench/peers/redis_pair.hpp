// The Redis peer of replication_bench (issue 19) and wan_bench (issue 20): a Redis primary and one replica on 127.0.0.1,
// both `appendonly yes` + `appendfsync always` (each fsyncs before it answers or acknowledges: the
// one peer with the durability of a Tandem sync pair), and a publisher that writes 1 KiB with
// XADD and waits for the replica with WAIT 1 -- at 1 outstanding (XADD + WAIT per message) and
// pipelined (100 XADD, then one WAIT). Debian `redis-server` and `libhiredis-dev`; the bench runs
// without this target when redis-server is missing. replication_bench sees it through
// redis_peer.hpp (make_redis_peer); this header is the hiredis side.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/peers/redis_peer.hpp"

struct redisContext;

namespace tandem::bench {

// The redis-server binary, or nullopt when it is not installed.
std::optional<std::string> find_redis_server();

class redis_pair {
public:
  // Starts both servers under `dir` (registered with the bench's cleanup) and waits until the
  // replica is online; throws bench_error with the logs' tails otherwise.
  // `route` places the replica (redis_peer.hpp; default: 127.0.0.1, dialing the primary).
  redis_pair(const std::string& redis_server, const std::string& dir, const redis_router& route = {});
  ~redis_pair();
  redis_pair(const redis_pair&) = delete;
  redis_pair& operator=(const redis_pair&) = delete;

  std::uint16_t primary_port() const { return primary_port_; }
  pid_t primary_pid() const { return primary_; }
  pid_t replica_pid() const { return replica_; } // -1: a lone primary (redis_route::replica false)

private:
  std::string dir_;
  std::uint16_t primary_port_ = 0, replica_port_ = 0;
  pid_t primary_ = -1, replica_ = -1;
};

// One publishing connection to the primary, kept across slices.
class redis_load {
public:
  // per_wait: messages written before each WAIT 1 (1 = one outstanding; 100 = pipelined).
  redis_load(const redis_pair& pair, std::size_t per_wait);
  ~redis_load();
  redis_load(const redis_load&) = delete;
  redis_load& operator=(const redis_load&) = delete;

  // Publishes for `seconds`; each message's latency runs from its XADD's write to the reply of
  // the WAIT that covers it (the replica holds it). Throws bench_error on any error reply, and
  // when WAIT reports no replica.
  void run_slice(double seconds, const std::string& payload);
  // One batch per payload, idling `gap` after each (redis_peer::run_each).
  void run_each(const std::vector<std::string>& payloads, std::chrono::milliseconds gap);

  std::size_t per_wait() const { return per_wait_; }
  std::uint64_t messages() const { return messages_; }
  double seconds() const { return secs_; }
  const std::vector<double>& latencies_us() const { return latencies_us_; }
  double cpu_primary_s() const { return cpu_primary_; }
  double cpu_replica_s() const { return cpu_replica_; }

private:
  void batch(const std::string& payload);
  std::uint64_t replica_ticks() const; // 0 for a lone primary

  const redis_pair& pair_;
  redisContext* c_ = nullptr;
  std::size_t per_wait_;
  std::uint64_t messages_ = 0;
  double secs_ = 0, cpu_primary_ = 0, cpu_replica_ = 0;
  std::vector<double> latencies_us_;
};

} // namespace tandem::bench
