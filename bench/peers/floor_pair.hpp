// The floor of replication_bench (issue 19): bench/peers/floor_node.cpp run as a lone primary
// ("floor1") or as a primary and a replica ("floor"), on 127.0.0.1, and a publisher for it. One
// thread per process and blocking calls: the least a durable node can add to an fdatasync on this
// host (the loopback, the kernel's wake-ups; for the pair, the replica's fdatasync after one
// crossing, overlapping the primary's). Its pair-to-single ratios are what issue 19's ratio
// targets can reach here at best; Tandem's and Redis's are read against them. Threaded, the same
// with each process's disk work on a second thread: the floor of Tandem's shape.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tandem::bench {

// What one publishing connection did between open() and close().
struct floor_run {
  std::size_t window = 1;
  std::uint64_t messages = 0;       // acknowledged (durable on the primary and the replica, if any)
  double seconds = 0;               // publishing time
  std::vector<double> latencies_us; // each message: its write to the ack that covers it
  double cpu_primary_s = 0, cpu_replica_s = 0;
};

class floor_peer {
public:
  // Starts floor_node `binary` under `dir` (registered with the bench's cleanup): a replica first
  // when `replica`, then the primary, both with --threaded when `threaded` (the disk on a thread
  // of its own); open() throws bench_error if the primary does not listen within 10 s.
  floor_peer(const std::string& binary, const std::string& dir, bool replica, bool threaded = false);
  ~floor_peer();
  floor_peer(const floor_peer&) = delete;
  floor_peer& operator=(const floor_peer&) = delete;

  // A publishing connection keeping `window` messages outstanding, kept across slices.
  void open(std::size_t window);
  // Publishes for `seconds`, then waits for every ack (at most 10 s); throws bench_error on a
  // closed connection or a missing ack.
  void run_slice(double seconds, const std::string& payload);
  // Ends the connection and gives its figures.
  floor_run close();

private:
  void read_ack(std::uint64_t& acked);

  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t primary_ = -1, replica_ = -1;
  int fd_ = -1;
  floor_run run_;
  std::uint64_t sent_ = 0, acked_ = 0;
  std::vector<double> send_us_; // per message of this connection: when it was written (us since start_)
};

} // namespace tandem::bench
