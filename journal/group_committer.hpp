// The threaded group committer the node uses to make records durable.
//
// Its thread loops: take everything queued, stage each batch (a batch that fails validation is
// rejected alone), write all staged records with one write, do ONE fdatasync, then invoke each
// batch's callback with its seq range and the durable seq -- or with the error. So one fdatasync
// covers every record submitted while the previous one was running.
//
// Contract:
//   * submit() never blocks on I/O. The queue is bounded by max_queued_bytes (encoded size);
//     when full, submit() returns errc::queue_full and the caller retries or pushes back. A batch
//     larger than the bound is accepted only into an empty queue, so it can never starve.
//   * Callbacks run on the committer thread, in submission order, with no internal lock held, so
//     a callback may call submit(). They must be cheap (the node's callback sends an actor
//     message): the next group commit waits for them.
//   * A callback receiving a commit_ok may acknowledge every record in its range: they are
//     durable. With sync_policy::interval, the fdatasync happens at most every sync_interval, but
//     callbacks still only fire after it completes.
//   * stop() (also run by the destructor) stops accepting, finishes all queued work (callbacks
//     included) and joins. Later submit() calls return errc::stopped.
//   * The journal's writer side belongs to this thread while the committer runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "journal/errc.hpp"
#include "journal/journal.hpp"

namespace tandem::journal {

enum class sync_policy {
  every_batch, // fdatasync after every group of batches (default)
  interval,    // fdatasync at most every sync_interval
};

struct committer_options {
  std::size_t max_queued_bytes = 64u << 20;
  sync_policy policy = sync_policy::every_batch;
  std::chrono::milliseconds sync_interval{10};
};

struct commit_ok {
  seq_range range;           // seqs assigned to the batch, in batch order
  std::uint64_t durable_seq; // highest durable seq (>= range.last)
};

using commit_callback = std::function<void(const result<commit_ok>&)>;

struct committer_stats {
  std::uint64_t syncs = 0;     // fdatasync calls that covered at least one record
  std::uint64_t batches = 0;   // batches completed (ok or error)
  std::uint64_t records = 0;   // records made durable
  std::uint64_t bytes = 0;     // encoded bytes made durable
  std::uint64_t rejected = 0;  // batches completed with an error
};

class group_committer {
public:
  explicit group_committer(journal& j, committer_options options = {});
  ~group_committer();
  group_committer(const group_committer&) = delete;
  group_committer& operator=(const group_committer&) = delete;

  status submit(std::vector<record> batch, commit_callback done);
  void stop();
  committer_stats stats() const;

private:
  struct pending {
    std::vector<record> batch;
    commit_callback done;
    std::size_t bytes;
  };
  void run();
  void commit(std::vector<pending>& work);

  journal& j_;
  const committer_options opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<pending> queue_;
  std::size_t queued_bytes_ = 0;
  bool stopping_ = false;
  committer_stats stats_;
  std::thread thread_; // last: starts after everything above is initialised
};

} // namespace tandem::journal
