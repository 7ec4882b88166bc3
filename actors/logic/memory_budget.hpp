// Admission control by bytes: one node-wide budget for memory that outsiders make the node hold
// (partially received frames, output queued for a connection that does not read), and the
// per-connection account that acquires from it.
//
//   auto budget = std::make_shared<memory_budget>(256 MiB); // one per node, shared by the listeners
//   connection_buffers conn{budget, 32 MiB};                // one per connection
//   after a read, once every complete frame is handled:
//     conn.on_partial_frame(length of the frame being received, header included)
//       -> ok, or over_node_budget: close with close{resource_limit}
//   after writing n bytes for it:       conn.on_output(n)          -> ok / over_* : close
//   on CAF's data_transferred_msg:      conn.on_output_remaining(remaining)
//
// Worked example (budget 100, connection limit 50, free_partial_bytes 10): a frame header
// announcing 40 bytes makes the connection hold 40 (acquired before its body is buffered); a
// second connection announcing 70 is refused (40 + 70 > 100) and closed; once the first frame is
// complete, on_partial_frame(0) releases the 40. A frame of at most 10 bytes costs nothing: it fits
// in the first read, which the socket layer bounds anyway.
//
// Thread safety: memory_budget uses atomics, so brokers on any thread may share one (CAF runs all
// brokers on its one I/O thread today). connection_buffers is owned by one connection, and holds
// a share of the budget: whatever order a connection's state is torn down in (a broker dropping
// the node context before its buffers, at shutdown), the budget outlives every account that still
// has bytes to give back.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>

namespace tandem::logic {

class memory_budget {
public:
  explicit memory_budget(std::uint64_t limit) : limit_(limit) {}
  memory_budget(const memory_budget&) = delete;
  memory_budget& operator=(const memory_budget&) = delete;

  // Takes n bytes if used() + n <= limit(); otherwise takes nothing, counts a refusal and
  // returns false. try_acquire(0) always succeeds.
  bool try_acquire(std::uint64_t n);
  // Takes n bytes for memory the node can do without (a cache: batch_compressor's frames) only
  // while used() + n stays at or under half the limit, so that it never crowds out what must be
  // admitted; otherwise takes nothing and returns false (not counted as a refusal).
  bool try_acquire_spare(std::uint64_t n);
  // Takes n bytes whatever the limit (memory that already exists, e.g. a subscription's chunk
  // bounded by its own flow control): admission of new data sees it.
  void charge(std::uint64_t n);
  // Gives back n bytes taken before (never more than taken: asserted).
  void release(std::uint64_t n);

  std::uint64_t limit() const { return limit_; }
  std::uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  std::uint64_t peak() const { return peak_.load(std::memory_order_relaxed); }
  std::uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }

private:
  void note_peak(std::uint64_t now);
  const std::uint64_t limit_;
  std::atomic<std::uint64_t> used_{0};
  std::atomic<std::uint64_t> peak_{0};
  std::atomic<std::uint64_t> refusals_{0};
};

// The bytes one connection holds against the budget: a reservation for the frame it is receiving
// and its unsent output. Releases everything when destroyed (the connection ended).
class connection_buffers {
public:
  enum class verdict {
    ok,
    over_connection_limit, // this connection's unsent output passed its own bound
    over_node_budget,      // the node-wide budget cannot take the bytes
  };

  // Frames of at most free_partial_bytes (the size of one socket read) need no reservation.
  connection_buffers(std::shared_ptr<memory_budget> budget, std::uint64_t max_output_bytes,
                     std::uint64_t free_partial_bytes = 64 * 1024)
    : budget_(std::move(budget)), max_output_(max_output_bytes), free_partial_(free_partial_bytes) {}
  ~connection_buffers();
  connection_buffers(const connection_buffers&) = delete;
  connection_buffers& operator=(const connection_buffers&) = delete;

  // The frame now being received is `frame_bytes` long (0: none, or its length is not known yet).
  // Acquires the whole length when it is first announced, releases it when it is 0 again. On
  // over_node_budget the reservation is unchanged (the caller closes the connection).
  verdict on_partial_frame(std::uint64_t frame_bytes);

  // n more bytes were queued for the peer. `force`: charged even past the budget (bytes already
  // held elsewhere, bounded by the caller's flow control); the connection's own bound still holds.
  verdict on_output(std::uint64_t n, bool force = false);
  // The socket layer reports how much is still unsent (CAF's data_transferred_msg::remaining).
  void on_output_remaining(std::uint64_t remaining);

  std::uint64_t partial_reserved() const { return partial_; }
  std::uint64_t unsent() const { return unsent_; }
  std::uint64_t held() const { return partial_ + unsent_; }

private:
  std::shared_ptr<memory_budget> budget_; // never null
  std::uint64_t max_output_;
  std::uint64_t free_partial_;
  std::uint64_t partial_ = 0; // acquired for the frame being received
  std::uint64_t unsent_ = 0;  // acquired for output not yet on the wire
};

// Closes made by admission control on the replication port, for /status (the client listener
// reports them with the budget; the replication brokers only count).
struct replication_admission_counters {
  std::atomic<std::uint64_t> evicted{0};          // slot taken back from an older connection
  std::atomic<std::uint64_t> refused{0};          // every slot held by a configured destination
  std::atomic<std::uint64_t> oversized_before_hello{0};
  std::atomic<std::uint64_t> over_budget{0};      // a frame the node-wide budget could not take
};

} // namespace tandem::logic
