#include "journal/group_committer.hpp"

namespace tandem::journal {

group_committer::group_committer(journal& j, committer_options options)
    : j_(j), opts_(options), thread_([this] { run(); }) {}

group_committer::~group_committer() { stop(); }

status group_committer::submit(std::vector<record> batch, commit_callback done) {
  std::size_t bytes = 0;
  for (const auto& r : batch) bytes += encoded_size(r);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return {errc::stopped, "group committer is stopped"};
    if (!queue_.empty() && queued_bytes_ + bytes > opts_.max_queued_bytes)
      return {errc::queue_full, "journal queue holds " + std::to_string(queued_bytes_) + " bytes, limit " +
                                    std::to_string(opts_.max_queued_bytes)};
    queued_bytes_ += bytes;
    queue_.push_back({std::move(batch), std::move(done), bytes});
  }
  cv_.notify_one();
  return {};
}

void group_committer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

committer_stats group_committer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void group_committer::run() {
  auto last_sync = std::chrono::steady_clock::now() - opts_.sync_interval;
  std::vector<pending> work;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return; // stopping and drained
      if (opts_.policy == sync_policy::interval && !stopping_) {
        // Let submissions accumulate until the interval since the last sync has passed.
        cv_.wait_until(lock, last_sync + opts_.sync_interval, [&] { return stopping_; });
      }
      work.clear();
      while (!queue_.empty()) {
        work.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_bytes_ = 0;
    }
    commit(work);
    last_sync = std::chrono::steady_clock::now();
  }
}

void group_committer::commit(std::vector<pending>& work) {
  std::vector<result<seq_range>> staged;
  staged.reserve(work.size());
  bool any = false;
  for (auto& p : work) {
    staged.push_back(j_.stage(p.batch));
    any = any || (staged.back().ok() && !staged.back()->empty());
  }
  status failure;
  std::uint64_t durable = j_.durable_seq();
  if (any) {
    auto synced = j_.sync(); // writes everything staged, then one fdatasync
    if (synced) durable = *synced;
    else failure = synced.error();
  }
  committer_stats delta;
  if (any && failure.ok()) ++delta.syncs;
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
    stats_.batches += delta.batches;
    stats_.records += delta.records;
    stats_.bytes += delta.bytes;
    stats_.rejected += delta.rejected;
  }
  // No lock held: a callback may submit() again.
  for (std::size_t i = 0; i < work.size(); ++i)
    if (work[i].done) work[i].done(outcomes[i]);
}

} // namespace tandem::journal
