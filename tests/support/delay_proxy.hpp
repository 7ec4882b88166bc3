// A userspace TCP delay proxy for the WAN rig (issue 20 part 4): listens on a port, forwards each
// accepted connection to a target and adds a fixed one-way delay in each direction, keeping the
// byte order. Plain POSIX and the standard library (no doctest, no test-support library), so the
// integration tests and bench/wan_bench share it (CMake target tandem_wan_rig).
//
// How the delay is made: every read() from one side becomes a chunk stamped "due at now + delay"
// at the back of that direction's FIFO queue; a chunk is written to the other side once it is due.
// Since the delay is fixed and the clock monotonic, due times never decrease along a queue, so the
// queue is also the send order: bytes leave in the order they came in. One thread serves every
// connection with ppoll() (µs timeouts, woken by the next due chunk or by new bytes); nothing
// sleeps per byte.
//
// Memory: each direction of each connection queues at most max_queued_bytes, plus one read
// (read_chunk_bytes) past it: a full queue stops reading that side, and TCP's own flow control
// then holds its sender back. The queue is the "network" of the emulated link, so it must hold the
// bytes in flight one way: max_queued_bytes >= bandwidth x delay (1 Gbit/s x 10 ms = 1.25 MB; the
// default 16 MiB covers 1 Gbit/s up to ~130 ms one way). Bandwidth is NOT limited here: put a tc
// tbf qdisc on the path for that (wan_link.hpp).
//
// Closing: a side that ends (read() returns 0) is passed on in order, as shutdown(SHUT_WR) of the
// other side once the bytes before it have been written, `delay` later. A connection whose both
// directions have ended, or where any read/write fails (a reset), or whose target cannot be reached,
// is closed on both sides at once. Bytes are counted as written, per direction.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace tandem::test {

struct delay_proxy_options {
  std::string listen_host = "127.0.0.1"; // numeric IPv4
  std::uint16_t listen_port = 0;         // 0: the kernel picks; see delay_proxy::port()
  std::string target_host;               // numeric IPv4
  std::uint16_t target_port = 0;
  std::chrono::microseconds one_way_delay{0};
  std::size_t max_queued_bytes = 16u << 20; // per connection and direction (see above)
  std::size_t read_chunk_bytes = 64u << 10; // at most this much per read()
};

// Totals since the start; read from any thread.
struct delay_proxy_counters {
  std::uint64_t bytes_to_target = 0; // written to the target side
  std::uint64_t bytes_to_client = 0; // written to the accepting side
  std::uint64_t accepted = 0;        // connections accepted
  std::uint64_t open = 0;            // connections not yet closed
  std::uint64_t target_failures = 0; // connects to the target that failed (the client was closed)
  std::size_t max_queued_bytes_seen = 0; // the largest one direction's queue got
};

class delay_proxy {
public:
  // Binds, listens and starts the thread; throws std::runtime_error (with errno text) on failure.
  explicit delay_proxy(delay_proxy_options options);
  // Stops the thread and closes every socket (unsent queued bytes are dropped).
  ~delay_proxy();
  delay_proxy(const delay_proxy&) = delete;
  delay_proxy& operator=(const delay_proxy&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const; // "listen_host:port"
  delay_proxy_counters counters() const;

  struct state; // the thread's, defined in delay_proxy.cpp

private:
  std::uint16_t port_ = 0;
  std::unique_ptr<state> state_;
  std::thread thread_;
};

} // namespace tandem::test
