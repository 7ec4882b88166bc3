#include "journal/group_committer.hpp"

#include <algorithm>

#include "journal/hop_trace.hpp"

namespace tandem::journal {

group_committer::group_committer(journal& j, committer_options options)
    : j_(j), opts_(options), completer_([this] { run_completions(); }), thread_([this] { run(); }) {}

group_committer::~group_committer() { stop(); }

status group_committer::submit(std::vector<record> batch, commit_callback done, bool wake_thread) {
  std::size_t bytes = 0;
  for (const auto& r : batch) bytes += encoded_size(r);
  bool wake;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return {errc::stopped, "group committer is stopped"};
    if (!queue_.empty() && queued_bytes_ + bytes > opts_.max_queued_bytes)
      return {errc::queue_full, "journal queue holds " + std::to_string(queued_bytes_) + " bytes, limit " +
                                    std::to_string(opts_.max_queued_bytes)};
    wake = wake_thread && queue_.empty(); // the thread only waits for "not empty" (or stopping)
    queued_bytes_ += bytes;
    queue_.push_back({std::move(batch), std::move(done), bytes});
  }
  if (wake) cv_.notify_one();
  return {};
}

bool group_committer::flush(bool here) {
  std::vector<pending> work;
  {
    std::lock_guard lock(mu_);
    if (queue_.empty()) return false;
    // Callbacks keep their order either way: while earlier ones are still with the completer,
    // finish() queues these behind them.
    here = here && !busy_ && !stopping_ && opts_.policy == sync_policy::every_batch;
    if (here)
      take_queue(work);
  }
  if (!here) {
    cv_.notify_one();
    return false;
  }
  hop_trace::mark(hop_trace::point::committer_in);
  time_point sync_started; // only the interval policy's thread keeps it
  commit(work, sync_started, true);
  work.clear();
  bool more;
  {
    std::lock_guard lock(mu_);
    busy_ = false;
    // Submitted meanwhile, or stop() called: the thread waited for this commit to end.
    more = !queue_.empty() || stopping_;
  }
  if (more) cv_.notify_one();
  return true;
}

void group_committer::take_queue(std::vector<pending>& work) {
  busy_ = true;
  work.swap(queue_); // work was cleared outside the lock; queue_ gets its capacity
  queued_bytes_ = 0;
}

void group_committer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join(); // has handed over its last completions
  {
    std::lock_guard lock(done_mu_);
    done_stopping_ = true;
  }
  done_cv_.notify_one();
  if (completer_.joinable()) completer_.join();
}

bool group_committer::on_own_thread() const {
  const auto me = std::this_thread::get_id();
  return me == thread_.get_id() || me == completer_.get_id();
}

committer_stats group_committer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void group_committer::run() {
  time_point last_sync = time_point::min(); // start of the last fdatasync; none yet
  std::vector<pending> work;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !busy_ && (stopping_ || !queue_.empty()); });
      if (queue_.empty()) return; // stopping and drained
      if (opts_.policy == sync_policy::interval && !stopping_ && last_sync != time_point::min()) {
        // Sync now if the last fdatasync started at least an interval ago, else at exactly
        // (its start + interval); submissions keep accumulating meanwhile (submit() does not
        // notify a non-empty queue, so this wait is not woken per submission).
        cv_.wait_until(lock, last_sync + opts_.sync_interval, [&] { return stopping_; });
      }
      take_queue(work);
    }
    hop_trace::mark(hop_trace::point::committer_in);
    commit(work, last_sync);
    work.clear(); // frees the records and callbacks without holding the lock
    std::lock_guard lock(mu_);
    busy_ = false;
  }
}

void group_committer::run_completions() {
  for (;;) {
    completed_group group;
    {
      std::unique_lock lock(done_mu_);
      done_cv_.wait(lock, [&] { return done_stopping_ || !done_queue_.empty(); });
      if (done_queue_.empty()) return; // stopping and drained
      group = std::move(done_queue_.front());
      done_queue_.pop_front();
      done_busy_ = true; // same critical section as the pop: see finish()
    }
    invoke(group.work, group.outcomes);
    group = {}; // free the records before declaring idle
    std::lock_guard lock(done_mu_);
    done_busy_ = false;
  }
}

void group_committer::invoke(std::vector<pending>& work, const std::vector<result<commit_ok>>& outcomes) {
  // No lock held: a callback may submit() again.
  for (std::size_t i = 0; i < work.size(); ++i)
    if (work[i].done) work[i].done(outcomes[i]);
}

void group_committer::finish(std::vector<pending>& work, std::vector<result<commit_ok>>& outcomes) {
  bool more_queued, handed_over;
  {
    std::lock_guard lock(mu_);
    more_queued = !queue_.empty() && !stopping_;
  }
  {
    std::lock_guard lock(done_mu_);
    // Callbacks must run in submission order: if earlier groups are still with the completer
    // (queued or running), this one goes after them. Otherwise run them here -- no hand-off
    // latency -- unless more work is already queued, which the next fdatasync should not wait for.
    const bool completer_idle = done_queue_.empty() && !done_busy_;
    handed_over = !completer_idle || more_queued;
    if (handed_over) done_queue_.push_back({std::move(work), std::move(outcomes)});
  }
  if (handed_over) {
    work.clear();
    done_cv_.notify_one();
  } else {
    invoke(work, outcomes);
  }
}

void group_committer::commit(std::vector<pending>& work, time_point& sync_started, bool here) {
  std::vector<result<seq_range>> staged;
  staged.reserve(work.size());
  bool any = false;
  std::uint64_t last = 0; // the highest seq staged (hop_trace)
  std::size_t bytes = 0;
  for (const auto& p : work)
    bytes += j_.staged_bytes(p.batch);
  j_.reserve_staging(bytes); // one allocation for the commit's chunk (journal.hpp)
  bool relayed_only = true; // no record of this write was published here (on_written)
  for (auto& p : work) {
    staged.push_back(j_.stage(p.batch));
    any = any || (staged.back().ok() && !staged.back()->empty());
    if (staged.back().ok() && relayed_only)
      relayed_only = std::none_of(p.batch.begin(), p.batch.end(), [](const record& r) { return r.origin.empty(); });
    if (staged.back().ok() && !staged.back()->empty()) last = std::max(last, staged.back()->last);
  }
  status failure;
  std::uint64_t durable = j_.durable_seq();
  if (any) {
    sync_started = std::chrono::steady_clock::now();
    // One write, then (with a seq reservation) the sync links may send it, then one fdatasync.
    if (auto written = j_.write_staged(); !written) {
      failure = written;
    } else {
      hop_trace::mark(hop_trace::point::written, last);
      if (opts_.on_written && j_.sendable_seq() > j_.durable_seq()) opts_.on_written(j_.sendable_seq(), relayed_only);
      auto synced = j_.sync(); // the fdatasync covering what was just written
      if (synced) durable = *synced;
      else failure = synced.error();
      hop_trace::mark(hop_trace::point::synced, last);
      if (synced && opts_.on_sync)
        opts_.on_sync(std::chrono::steady_clock::now() - sync_started);
    }
  }
  committer_stats delta;
  if (any && failure.ok()) ++delta.syncs;
  if (any && failure.ok() && here) ++delta.syncs_here;
  std::vector<result<commit_ok>> outcomes;
  outcomes.reserve(work.size());
  for (std::size_t i = 0; i < work.size(); ++i) {
    ++delta.batches;
    if (!staged[i]) {
      ++delta.rejected;
      outcomes.emplace_back(staged[i].error());
    } else if (!failure.ok() && !staged[i]->empty()) {
      ++delta.rejected;
      outcomes.emplace_back(failure);
    } else {
      delta.records += staged[i]->empty() ? 0 : staged[i]->last - staged[i]->first + 1;
      delta.bytes += work[i].bytes;
      outcomes.emplace_back(commit_ok{*staged[i], durable});
    }
  }
  {
    std::lock_guard lock(mu_);
    stats_.syncs += delta.syncs;
    stats_.syncs_here += delta.syncs_here;
    stats_.batches += delta.batches;
    stats_.records += delta.records;
    stats_.bytes += delta.bytes;
    stats_.rejected += delta.rejected;
  }
  finish(work, outcomes);
  if (any) j_.preallocate(); // after the acks went out (journal.hpp)
}

} // namespace tandem::journal
