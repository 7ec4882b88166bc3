// journal/group_committer.cpp
#include <doctest/doctest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "journal/group_committer.hpp"
#include "journal/reader.hpp"
#include "test_util.hpp"

using namespace tandem::journal;
using namespace tandem::journal::test;

namespace {

// Collects callback results; wait() blocks (with a deadline) until n arrived.
struct collector {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<result<commit_ok>> got;
  commit_callback cb() {
    return [this](const result<commit_ok>& r) {
      std::lock_guard lock(mu);
      got.push_back(r);
      cv.notify_all();
    };
  }
  bool wait(std::size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return got.size() >= n; });
  }
};

using steady = std::chrono::steady_clock;

// A journal in `d` on `fs` (the test injects faults and counts fdatasyncs there); with a seq
// reservation when reserve_step > 0.
std::unique_ptr<journal> open_on(const temp_dir& d, fault_fs& fs, std::uint64_t reserve_step = 0) {
  auto o = options_for(d.path());
  o.fs = &fs;
  o.reserve_step = reserve_step;
  o.boot_id = "11111111-2222-3333-4444-555555555555";
  return open_ok(o);
}

// A device whose every fdatasync takes `sync_delay`: the real POSIX file system, with a sleep in
// sync() and a log of when each fdatasync began (any thread may read it under mu).
class slow_sync_fs final : public forwarding_file_system {
public:
  explicit slow_sync_fs(std::chrono::milliseconds sync_delay) : delay_(sync_delay) {}
  std::mutex mu;
  std::vector<steady::time_point> sync_starts;
  std::size_t syncs_started() {
    std::lock_guard lock(mu);
    return sync_starts.size();
  }

  result<std::unique_ptr<writable_file>> open_writable(const std::string& path) override {
    auto f = target().open_writable(path);
    if (!f) return f.error();
    return std::unique_ptr<writable_file>(new slow_file(*this, std::move(*f)));
  }

private:
  class slow_file final : public forwarding_writable_file {
  public:
    slow_file(slow_sync_fs& fs, std::unique_ptr<writable_file> f) : forwarding_writable_file(std::move(f)), fs_(fs) {}
    status sync() override {
      {
        std::lock_guard lock(fs_.mu);
        fs_.sync_starts.push_back(steady::now());
      }
      std::this_thread::sleep_for(fs_.delay_);
      return target().sync();
    }

  private:
    slow_sync_fs& fs_;
  };
  const std::chrono::milliseconds delay_;
};

// A journal in its own temp dir on a slow_sync_fs.
std::unique_ptr<journal> open_slow(const temp_dir& dir, slow_sync_fs& fs) {
  auto o = options_for(dir.path());
  o.fs = &fs;
  return open_ok(o);
}

// Submits one single-record batch and returns its submit-to-callback time.
std::chrono::milliseconds time_to_durable(group_committer& gc, std::uint64_t tag) {
  collector c;
  const auto t0 = steady::now();
  REQUIRE(gc.submit(make_batch(tag, 1), c.cb()).ok());
  REQUIRE(c.wait(1));
  REQUIRE(c.got[0].ok());
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0);
}

} // namespace

TEST_CASE("group committer assigns seq ranges in submission order and reports durable") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  collector c;
  {
    group_committer gc(*j);
    for (int i = 0; i < 50; ++i) REQUIRE(gc.submit(make_batch(i * 3 + 1, 3), c.cb()).ok());
    REQUIRE(c.wait(50));
  }
  std::lock_guard lock(c.mu);
  std::uint64_t next = 1;
  for (const auto& r : c.got) {
    REQUIRE(r.ok());
    CHECK(r->range.first == next);
    CHECK(r->range.last == next + 2);
    CHECK(r->durable_seq >= r->range.last);
    next += 3;
  }
  CHECK(j->durable_seq() == 150);
}

TEST_CASE("one fdatasync covers every batch queued while the previous one ran") {
  temp_dir d;
  fault_fs ffs;
  auto j = open_on(d, ffs);
  collector c;
  group_committer gc(*j);
  for (int i = 0; i < 200; ++i) REQUIRE(gc.submit(make_batch(i + 1, 1), c.cb()).ok());
  REQUIRE(c.wait(200));
  const auto st = gc.stats();
  CHECK(st.records == 200);
  CHECK(st.syncs == static_cast<std::uint64_t>(ffs.syncs.load()));
  CHECK(st.syncs < 200); // batches were grouped
  MESSAGE("200 batches took " << st.syncs << " fdatasyncs");
}

TEST_CASE("a full queue reports queue_full instead of growing") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  committer_options co;
  co.max_queued_bytes = 4096;
  co.policy = sync_policy::interval;
  co.sync_interval = std::chrono::milliseconds(200); // keep the thread from draining meanwhile
  collector c;
  group_committer gc(*j, co);
  // Let the first (immediate) sync happen so the thread then waits out the interval.
  REQUIRE(gc.submit(make_batch(1, 1), c.cb()).ok());
  REQUIRE(c.wait(1));
  int accepted = 0;
  status last;
  for (int i = 0; i < 100; ++i) {
    last = gc.submit(make_batch(10 + i, 1, 1000), c.cb());
    if (!last.ok()) break;
    ++accepted;
  }
  CHECK(last.code() == errc::queue_full);
  CHECK(accepted >= 3);
  CHECK(accepted <= 5);
  gc.stop(); // finishes the accepted work
  CHECK(c.got.size() == static_cast<std::size_t>(accepted + 1));
}

TEST_CASE("an invalid batch is rejected alone; its neighbours commit") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  collector c;
  group_committer gc(*j);
  auto bad = make_batch(2, 2);
  bad[1].topic.assign(70000, 't');
  // Submit all three before the thread can take them one by one is not guaranteed; the contract
  // holds either way: the bad batch gets record_too_large, the others get dense ranges.
  REQUIRE(gc.submit(make_batch(1, 1), c.cb()).ok());
  REQUIRE(gc.submit(std::move(bad), c.cb()).ok());
  REQUIRE(gc.submit(make_batch(3, 1), c.cb()).ok());
  REQUIRE(c.wait(3));
  CHECK(c.got[0]->range == seq_range{1, 1});
  CHECK(c.got[1].error().code() == errc::record_too_large);
  CHECK(c.got[2]->range == seq_range{2, 2});
}

TEST_CASE("callbacks run without internal locks held and may submit again") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  collector c;
  group_committer gc(*j);
  std::function<void(const result<commit_ok>&)> chain;
  std::atomic<int> left{20};
  chain = [&](const result<commit_ok>& r) {
    REQUIRE(r.ok());
    if (--left > 0) REQUIRE(gc.submit(make_batch(1, 1), chain).ok()); // would deadlock if locked
    else c.cb()(r);
  };
  REQUIRE(gc.submit(make_batch(1, 1), chain).ok());
  REQUIRE(c.wait(1));
  CHECK(j->durable_seq() == 20);
}

TEST_CASE("interval policy batches syncs but only reports after a completed sync") {
  temp_dir d;
  fault_fs ffs;
  auto j = open_on(d, ffs);
  committer_options co;
  co.policy = sync_policy::interval;
  co.sync_interval = std::chrono::milliseconds(20);
  collector c;
  group_committer gc(*j, co);
  for (int i = 0; i < 30; ++i) {
    REQUIRE(gc.submit(make_batch(i + 1, 1), [&](const result<commit_ok>& r) {
      // Durable means covered by a completed fdatasync.
      CHECK(ffs.syncs.load() >= 1);
      CHECK(j->durable_seq() >= r->range.last);
      c.cb()(r);
    }).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(c.wait(30));
  CHECK(gc.stats().syncs < 30);
}

TEST_CASE("interval policy syncs at (last fdatasync start + interval), never later") {
  // With a slow device (fdatasync = D) and interval I = D: an append submitted just after an
  // fdatasync began must start its own at that start + I, so it is durable ~I + D after submit.
  // Measuring the interval from the END of the previous commit instead gives I + 2D; waiting out
  // a full interval after work arrives gives the same. The bounds leave D/2 for noise either way.
  using std::chrono::milliseconds;
  constexpr milliseconds d{300};
  temp_dir dir;
  slow_sync_fs fs(d);
  auto j = open_slow(dir, fs);
  committer_options co;
  co.policy = sync_policy::interval;
  co.sync_interval = d;
  group_committer gc(*j, co);
  const std::size_t before = fs.syncs_started(); // open() may have synced

  // The first append finds no earlier fdatasync: synced at once.
  collector first;
  REQUIRE(gc.submit(make_batch(1, 1), first.cb()).ok());
  const auto deadline = steady::now() + std::chrono::seconds(10);
  while (fs.syncs_started() == before && steady::now() < deadline) std::this_thread::sleep_for(milliseconds(1));
  REQUIRE(fs.syncs_started() == before + 1);

  // Submitted while that fdatasync runs: its own starts at (that start + I) = when it finishes.
  const auto second = time_to_durable(gc, 2);
  CHECK(second >= d);
  CHECK(second < co.sync_interval + d + d / 2);
  REQUIRE(first.wait(1));

  // Its fdatasync started I ago by the time its callback ran: the next append is synced at once.
  const auto third = time_to_durable(gc, 3);
  CHECK(third >= d);
  CHECK(third < d + d / 2);
  MESSAGE("time to durable with I = D = 300 ms: " << second.count() << " ms, then " << third.count() << " ms");

  // And never more often than every interval (less a little for the write preceding each sync).
  std::lock_guard lock(fs.mu);
  for (std::size_t i = before + 1; i < fs.sync_starts.size(); ++i)
    CHECK(fs.sync_starts[i] - fs.sync_starts[i - 1] >= co.sync_interval - milliseconds(20));
}

TEST_CASE("stop finishes pending work and later submits are refused") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  collector c;
  group_committer gc(*j);
  for (int i = 0; i < 20; ++i) REQUIRE(gc.submit(make_batch(i + 1, 2), c.cb()).ok());
  gc.stop();
  CHECK(c.got.size() == 20);
  CHECK(j->durable_seq() == 40);
  CHECK(gc.submit(make_batch(1, 1), c.cb()).code() == errc::stopped);
}

TEST_CASE("on_written: with a seq reservation, the written seq is announced before its fdatasync") {
  temp_dir d;
  fault_fs fs;
  auto j = open_on(d, fs, 1000);
  struct seen {
    std::uint64_t sendable, durable;
    int syncs;
  };
  std::mutex mu;
  std::vector<seen> calls;
  committer_options co;
  co.on_written = [&](std::uint64_t sendable, bool) {
    std::lock_guard lock(mu);
    calls.push_back({sendable, j->durable_seq(), fs.syncs.load()});
  };
  collector c;
  {
    group_committer gc(*j, co);
    for (int i = 0; i < 20; ++i) {
      const int syncs_before = fs.syncs.load();
      REQUIRE(gc.submit(make_batch(i * 2 + 1, 2), c.cb()).ok());
      REQUIRE(c.wait(static_cast<std::size_t>(i + 1)));
      std::lock_guard lock(mu);
      REQUIRE(calls.size() == static_cast<std::size_t>(i + 1)); // one announcement per write
      CHECK(calls.back().sendable == static_cast<std::uint64_t>(i * 2 + 2)); // what was just written
      CHECK(calls.back().durable == static_cast<std::uint64_t>(i * 2));      // not durable yet
      CHECK(calls.back().syncs == syncs_before);                             // its fdatasync not issued
    }
  }
  CHECK(j->durable_seq() == 40);
}

TEST_CASE("on_written says whether the write held relayed records only (links without passthrough skip it)") {
  temp_dir d;
  fault_fs fs;
  auto j = open_on(d, fs, 1000);
  std::mutex mu;
  std::vector<bool> relayed;
  committer_options co;
  co.on_written = [&](std::uint64_t, bool relayed_only) {
    std::lock_guard lock(mu);
    relayed.push_back(relayed_only);
  };
  auto from_b = [](std::uint64_t tag, std::uint64_t origin_seq) {
    auto r = make_record(tag);
    r.origin = "node-b";
    r.origin_seq = origin_seq;
    return r;
  };
  collector c;
  {
    group_committer gc(*j, co);
    REQUIRE(gc.submit(make_batch(1, 2), c.cb()).ok()); // published here
    REQUIRE(c.wait(1));
    REQUIRE(gc.submit(std::vector<record>{from_b(3, 10), from_b(4, 11)}, c.cb()).ok()); // from node-b
    REQUIRE(c.wait(2));
    REQUIRE(gc.submit(std::vector<record>{from_b(5, 12), make_record(6)}, c.cb()).ok()); // both
    REQUIRE(c.wait(3));
  }
  std::lock_guard lock(mu);
  REQUIRE(relayed.size() == 3);
  CHECK_FALSE(relayed[0]);
  CHECK(relayed[1]);
  CHECK_FALSE(relayed[2]);
  CHECK(j->durable_seq() == 6);
}

TEST_CASE("on_written: without a reservation nothing is announced (links read durable records only)") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  std::atomic<int> calls{0};
  committer_options co;
  co.on_written = [&](std::uint64_t, bool) { ++calls; };
  collector c;
  {
    group_committer gc(*j, co);
    for (int i = 0; i < 5; ++i) REQUIRE(gc.submit(make_batch(i + 1, 1), c.cb()).ok());
    REQUIRE(c.wait(5));
  }
  CHECK(calls.load() == 0);
  CHECK(j->durable_seq() == 5);
}

TEST_CASE("on_written: a failed write is a rejection, not a success with nothing written") {
  temp_dir d;
  fault_fs fs;
  auto j = open_on(d, fs);
  collector c;
  {
    group_committer gc(*j);
    REQUIRE(gc.submit(make_batch(1, 2), c.cb()).ok());
    REQUIRE(c.wait(1));
    fs.write_errno = EIO;
    REQUIRE(gc.submit(make_batch(3, 2), c.cb()).ok());
    REQUIRE(c.wait(2));
    REQUIRE(gc.submit(make_batch(3, 2), c.cb()).ok());
    REQUIRE(c.wait(3));
  }
  std::lock_guard lock(c.mu);
  REQUIRE(c.got[0].ok());
  REQUIRE_FALSE(c.got[1].ok());
  REQUIRE(c.got[2].ok());
  CHECK(c.got[2]->range.first == 3); // nothing exposed: the failed seqs are reused
  CHECK(j->durable_seq() == 4);
}

// ---- flush(here): a commit on the submitter's thread when the committer has nothing in hand ----

namespace {

// Waits (with a deadline) until `fs` has seen `n` fdatasyncs begin.
bool wait_syncs(slow_sync_fs& fs, std::size_t n) {
  const auto deadline = steady::now() + std::chrono::seconds(10);
  while (fs.syncs_started() < n && steady::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return fs.syncs_started() >= n;
}

// Records which thread ran each callback, in the order they ran.
struct thread_log {
  std::mutex mu;
  std::vector<std::pair<std::uint64_t, std::thread::id>> calls; // (range.first, thread)
  commit_callback cb(collector& c) {
    return [this, &c](const result<commit_ok>& r) {
      {
        std::lock_guard lock(mu);
        calls.emplace_back(r ? r->range.first : 0, std::this_thread::get_id());
      }
      c.cb()(r);
    };
  }
};

} // namespace

TEST_CASE("flush(true): an idle committer's queue is written, synced and answered on the calling thread") {
  temp_dir d;
  fault_fs fs;
  auto j = open_on(d, fs);
  collector c;
  thread_log t;
  group_committer gc(*j);
  for (std::uint64_t i = 0; i < 10; ++i) {
    const int syncs_before = fs.syncs.load();
    REQUIRE(gc.submit(make_batch(i * 2 + 1, 2), t.cb(c), false).ok());
    REQUIRE(gc.flush(true));
    // Done before flush returned: durable, answered, by this thread, with one fdatasync.
    std::lock_guard lock(c.mu);
    REQUIRE(c.got.size() == i + 1);
    REQUIRE(c.got.back().ok());
    CHECK(c.got.back()->range.first == i * 2 + 1);
    CHECK(c.got.back()->durable_seq == i * 2 + 2);
    CHECK(fs.syncs.load() == syncs_before + 1);
  }
  CHECK(j->durable_seq() == 20);
  CHECK(gc.stats().syncs == 10);
  CHECK(gc.stats().syncs_here == 10);
  std::lock_guard lock(t.mu);
  for (const auto& [first, thread] : t.calls) CHECK(thread == std::this_thread::get_id());
  CHECK_FALSE(gc.flush(true)); // nothing queued: nothing to do
}

TEST_CASE("flush(false), and submit without a wake then flush(false): the committer's thread commits") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  collector c;
  thread_log t;
  group_committer gc(*j);
  REQUIRE(gc.submit(make_batch(1, 3), t.cb(c), false).ok());
  CHECK_FALSE(gc.flush(false));
  REQUIRE(c.wait(1));
  REQUIRE(c.got[0].ok());
  CHECK(c.got[0]->range.last == 3);
  std::lock_guard lock(t.mu);
  REQUIRE(t.calls.size() == 1);
  CHECK(t.calls[0].second != std::this_thread::get_id());
  CHECK(gc.stats().syncs == 1);
  CHECK(gc.stats().syncs_here == 0);
}

TEST_CASE("flush(true) while the thread's fdatasync runs: not here; the thread commits it next, in order") {
  using std::chrono::milliseconds;
  temp_dir dir;
  slow_sync_fs fs(milliseconds(200));
  auto j = open_slow(dir, fs);
  collector c;
  thread_log t;
  group_committer gc(*j);
  const auto before = fs.syncs_started();
  REQUIRE(gc.submit(make_batch(1, 2), t.cb(c)).ok()); // the thread takes it
  REQUIRE(wait_syncs(fs, before + 1));                // and is in its fdatasync
  REQUIRE(gc.submit(make_batch(3, 2), t.cb(c), false).ok());
  CHECK_FALSE(gc.flush(true)); // the writer side is the thread's: this caller must not write
  REQUIRE(c.wait(2));
  std::lock_guard lock(c.mu);
  REQUIRE(c.got[0].ok());
  REQUIRE(c.got[1].ok());
  CHECK(c.got[0]->range.first == 1);
  CHECK(c.got[1]->range.first == 3);
  CHECK(j->durable_seq() == 4);
  std::lock_guard tl(t.mu);
  for (const auto& [first, thread] : t.calls) CHECK(thread != std::this_thread::get_id());
}

TEST_CASE("flush(true) while earlier callbacks still run on the completer: callbacks stay in submission order") {
  using std::chrono::milliseconds;
  temp_dir dir;
  slow_sync_fs fs(milliseconds(100));
  auto j = open_slow(dir, fs);
  collector c;
  thread_log t;
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool open_gate = false;
  std::atomic<bool> first_running{false};
  group_committer gc(*j);
  const auto before = fs.syncs_started();
  // The first batch's callback holds until the gate opens. A second batch queued during its
  // fdatasync sends the first group's callbacks to the completer (finish(): more is queued).
  REQUIRE(gc.submit(make_batch(1, 1),
                    [&](const result<commit_ok>& r) {
                      first_running = true;
                      std::unique_lock lock(gate_mu);
                      gate_cv.wait_for(lock, std::chrono::seconds(10), [&] { return open_gate; });
                      lock.unlock();
                      t.cb(c)(r);
                    })
              .ok());
  REQUIRE(wait_syncs(fs, before + 1));
  REQUIRE(gc.submit(make_batch(2, 1), t.cb(c)).ok());
  const auto deadline = steady::now() + std::chrono::seconds(10);
  while (!(first_running && gc.stats().batches >= 2) && steady::now() < deadline)
    std::this_thread::sleep_for(milliseconds(1));
  REQUIRE(first_running.load());
  REQUIRE(gc.stats().batches >= 2);
  // The thread is done or about done with the second batch; the first's callback still runs.
  // Committed here (the thread is done) or by the thread (about done): its callback goes behind
  // the first two either way.
  REQUIRE(gc.submit(make_batch(3, 1), t.cb(c), false).ok());
  const bool here = gc.flush(true);
  MESSAGE("the third batch was committed " << std::string(here ? "here" : "by the thread"));
  {
    std::lock_guard lock(t.mu);
    CHECK(t.calls.empty()); // nothing overtook the held first callback
  }
  {
    std::lock_guard lock(gate_mu);
    open_gate = true;
  }
  gate_cv.notify_all();
  REQUIRE(c.wait(3));
  std::lock_guard lock(t.mu);
  REQUIRE(t.calls.size() == 3);
  CHECK(t.calls[0].first == 1);
  CHECK(t.calls[1].first == 2);
  CHECK(t.calls[2].first == 3);
  CHECK(j->durable_seq() == 3);
}

TEST_CASE("stop() during a flush(true) commit on another thread waits for it: nothing lost, no hang") {
  using std::chrono::milliseconds;
  temp_dir dir;
  slow_sync_fs fs(milliseconds(200));
  auto j = open_slow(dir, fs);
  collector c;
  group_committer gc(*j);
  const auto before = fs.syncs_started();
  bool here = false;
  std::thread submitter([&] {
    REQUIRE(gc.submit(make_batch(1, 2), c.cb(), false).ok());
    here = gc.flush(true);
  });
  REQUIRE(wait_syncs(fs, before + 1)); // the submitter is in its fdatasync
  const auto t0 = steady::now();
  gc.stop(); // the thread waits for the commit in hand, then ends (it must be woken for that)
  const auto stop_took = steady::now() - t0;
  submitter.join();
  CHECK(here);
  CHECK(stop_took < std::chrono::seconds(5));
  REQUIRE(c.got.size() == 1);
  REQUIRE(c.got[0].ok());
  CHECK(j->durable_seq() == 2);
  CHECK(gc.submit(make_batch(3, 1), c.cb()).code() == errc::stopped);
}

TEST_CASE("flush(true) with the interval policy: never here (the thread keeps the fdatasync schedule)") {
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  committer_options co;
  co.policy = sync_policy::interval;
  co.sync_interval = std::chrono::milliseconds(5);
  collector c;
  group_committer gc(*j, co);
  REQUIRE(gc.submit(make_batch(1, 1), c.cb(), false).ok());
  CHECK_FALSE(gc.flush(true));
  REQUIRE(c.wait(1));
  CHECK(c.got[0].ok());
}

TEST_CASE("a commit's chunk is one allocation of exactly its records' bytes (journal::reserve_staging)") {
  // Three batches in one commit: local records (stored with this node's name) and a replicated
  // one (its own origin). Without the reservation the staging buffer grows by doubling, and the
  // chunk the tail window holds keeps the doubled capacity (here 4,712 bytes for 2,912 of records).
  temp_dir d;
  auto j = open_ok(options_for(d.path()));
  auto b1 = make_batch(1, 1, 1100);
  auto b2 = make_batch(2, 2, 300);
  auto b3 = make_batch(4, 1, 900);
  b3[0].origin = "node-b";
  b3[0].origin_seq = 77;
  const std::size_t expected = j->staged_bytes(b1) + j->staged_bytes(b2) + j->staged_bytes(b3);
  CHECK(j->staged_bytes(b3) == encoded_size(b3[0]));                   // its own origin
  CHECK(j->staged_bytes(b1) == encoded_size(b1[0], "node-a"));          // this node's name
  collector c;
  group_committer gc(*j);
  REQUIRE(gc.submit(std::move(b1), c.cb(), false).ok());
  REQUIRE(gc.submit(std::move(b2), c.cb(), false).ok());
  REQUIRE(gc.submit(std::move(b3), c.cb(), false).ok());
  // The committer's thread may take the queue if it wakes anyway; one commit either way.
  gc.flush(true);
  REQUIRE(c.wait(3));
  for (const auto& r : c.got) REQUIRE(r.ok());
  REQUIRE(gc.stats().syncs == 1);
  std::vector<chunk_slice> slices;
  REQUIRE(j->window().read_slices(1, 4, 100, std::size_t{1} << 20, slices));
  REQUIRE(slices.size() == 1);
  const auto& chunk = *slices.front().chunk;
  CHECK(chunk.size() == 4);
  CHECK(chunk.bytes.size() == expected);
  CHECK(chunk.bytes.capacity() == chunk.bytes.size());
}
