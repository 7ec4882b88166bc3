// The threaded group committer the node uses to make records durable.
//
// Its thread loops: take everything queued, stage each batch (a batch that fails validation is
// rejected alone), write all staged records with one write (then on_written, with a seq
// reservation), do ONE fdatasync, then invoke each
// batch's callback with its seq range and the durable seq -- or with the error. So one fdatasync
// covers every record submitted while the previous one was running. The queue lock is held only
// to swap the queue out; staging, write, fdatasync and callbacks run without it, so submit() is
// never held up by I/O.
//
// Contract:
//   * submit() never blocks on I/O. The queue is bounded by max_queued_bytes (encoded size);
//     when full, submit() returns errc::queue_full and the caller retries or pushes back. A batch
//     larger than the bound is accepted only into an empty queue, so it can never starve.
//   * Callbacks run in submission order, one at a time, with no internal lock held, so a callback
//     may call submit(). They run on the committer thread when nothing else is queued (lowest
//     latency), else on a second "completer" thread, so that the next write + fdatasync -- of the
//     work submitted while the last one ran -- overlaps them instead of waiting for them. They
//     must still be cheap (the node's callback sends an actor message).
//   * A callback receiving a commit_ok may acknowledge every record in its range: they are
//     durable. With sync_policy::interval, fdatasyncs START at least sync_interval apart, and no
//     later than needed: work found pending is written and synced at once if the previous
//     fdatasync started at least sync_interval ago, else at (that start + sync_interval). So an
//     append submitted at t is durable by about t + max(sync_interval, rest of the commit in
//     progress) + its own write and fdatasync. Callbacks still only fire after the fdatasync
//     completes.
//   * stop() (also run by the destructor) stops accepting, finishes all queued work (callbacks
//     included) and joins. Later submit() calls return errc::stopped. Never from a callback (it
//     would join its own thread; on_own_thread() tells).
//   * The journal's writer side belongs to this thread while the committer runs -- or, for one
//     commit at a time, to the thread that flush(true) let commit here (below).
//   * submit(..., wake_thread = false) queues without waking the thread; the submitter then calls
//     flush(here). flush(true) commits the queue on the calling thread when the thread has no
//     commit in hand (every_batch policy only): one thread wake-up less on an idle node's path
//     (issue 19 part 2). It is meant for a caller that may block for one write + fdatasync (the
//     node's journal actor, which is detached, when its mailbox is empty). Its callbacks run on
//     the calling thread, or on the completer behind earlier ones still there: in submission order
//     either way. Otherwise, and always with flush(false), the thread is woken to commit it.
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
  // Called on the committer thread after each successful write + fdatasync with its duration
  // (for a latency histogram). Must be cheap and must not call back into the committer.
  std::function<void(std::chrono::nanoseconds)> on_sync;
  // With the journal's seq reservation (journal_options::reserve_step): called on the committer
  // thread after each write, BEFORE its fdatasync, with journal::sendable_seq() when that rose
  // above the durable seq -- the moment sync links may send the written records (issue 19 part 1),
  // so that this node's fdatasync and the partner's overlap. Must be cheap (the node posts one
  // actor message per sync link) and must not call back into the committer. `relayed_only`: every
  // record the write held came from another node (a non-empty origin), none was published here;
  // a link that sends such records only by passthrough need not wake for it (its durable
  // notice follows anyway).
  std::function<void(std::uint64_t sendable, bool relayed_only)> on_written;
};

struct commit_ok {
  seq_range range;           // seqs assigned to the batch, in batch order
  std::uint64_t durable_seq; // highest durable seq (>= range.last)
};

using commit_callback = std::function<void(const result<commit_ok>&)>;

struct committer_stats {
  std::uint64_t syncs = 0;     // fdatasync calls that covered at least one record
  std::uint64_t syncs_here = 0; // of them, run by a flush(true) caller rather than the thread
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

  status submit(std::vector<record> batch, commit_callback done, bool wake_thread = true);
  // Commits what is queued here or has the thread do it (the contract above); true: committed here.
  bool flush(bool here);
  void stop();
  committer_stats stats() const;
  // Whether the caller is the committer's thread or its completer (where callbacks run): there
  // stop() and the destructor must not run, since they join both threads. An owner whose last
  // reference a callback may drop hands its destruction elsewhere (journal_runtime does).
  bool on_own_thread() const;

private:
  struct pending {
    std::vector<record> batch;
    commit_callback done;
    std::size_t bytes;
  };
  using time_point = std::chrono::steady_clock::time_point;
  void run();
  // mu_ held: the queue becomes `work` (empty on entry) and this caller's commit (busy_).
  void take_queue(std::vector<pending>& work);
  // Stages, writes and syncs `work`, then runs its callbacks. Sets `sync_started` to the moment
  // the fdatasync was issued, if one was (i.e. if any record was staged).
  void commit(std::vector<pending>& work, time_point& sync_started, bool here = false);
  // Runs the group's callbacks here, or hands them to the completer thread (see the contract).
  void finish(std::vector<pending>& work, std::vector<result<commit_ok>>& outcomes);
  static void invoke(std::vector<pending>& work, const std::vector<result<commit_ok>>& outcomes);
  void run_completions(); // the completer thread

  struct completed_group {
    std::vector<pending> work;
    std::vector<result<commit_ok>> outcomes;
  };

  journal& j_;
  const committer_options opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<pending> queue_; // swapped with the thread's work vector, so capacity is reused
  std::size_t queued_bytes_ = 0;
  bool stopping_ = false;
  bool busy_ = false; // a commit is under way, on the thread or in a flush(true) caller
  committer_stats stats_;

  std::mutex done_mu_; // guards the four below
  std::condition_variable done_cv_;
  std::deque<completed_group> done_queue_; // groups whose callbacks have not started, in order
  bool done_busy_ = false;                 // the completer is running a group's callbacks
  bool done_stopping_ = false;

  // Last: they start after everything above is initialised; the completer first, since the
  // committer thread may hand it work at once.
  std::thread completer_;
  std::thread thread_;
};

} // namespace tandem::journal
