// journal_bench: group-commit throughput and time-to-durable of the journal against the raw
// device, plus the time to open (recover) a large journal. Not a test; see docs/performance.md.
//
//   journal_bench [--dir DIR] [--seconds S] [--open-gib G] [--record-bytes N] [--json FILE]
//
// For 1, 16 and 256 outstanding appends (one 1 KiB record each; "outstanding" = submitted, not
// yet completed; a client thread submits, callbacks only hand completions back to it) it prints
// records/s, MB/s and p50/p99 time-to-durable (submit() to callback) through the group
// committer; then, for the average group-commit batch the journal actually saw, a raw loop
// (pwrite of that many bytes + fdatasync, same directory) and the ratios journal/raw.
// --json FILE: the same figures and the targets' verdicts as one JSON document (bench_json.hpp).
#include <fcntl.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_json.hpp"
#include "bench/bench_util.hpp"
#include "journal/crc32c.hpp"
#include "journal/group_committer.hpp"
#include "journal/journal.hpp"
#include "journal/record_codec.hpp"

using namespace tandem::journal;
using clock_type = std::chrono::steady_clock;
using tandem::bench::bench_error;
using tandem::bench::json_report;

namespace {

struct args {
  std::string dir = "/tmp/tandem-journal-bench";
  double seconds = 3;
  double open_gib = 1.0;
  std::size_t record_bytes = 1024;
  std::optional<std::string> json; // --json FILE
};

void print_machine(const std::string& dir, json_report& rep) {
  const char* crc = crc32c::hardware_available() ? "sse4.2" : "portable";
  std::printf("%s crc32c=%s\n", rep.machine(dir).c_str(), crc);
  rep.machine_fact("crc32c", crc);
}

record bench_record(std::size_t payload) {
  record r;
  r.publisher = "bench";
  r.path = {"bench-node"};
  r.topic = "bench/topic";
  r.payload.assign(payload, 'x');
  return r;
}

struct phase_result {
  double records_per_s = 0, mb_per_s = 0, p50_us = 0, p99_us = 0, avg_batch_bytes = 0, records_per_sync = 0;
  double raw_mb_per_s = 0, raw_p50_us = 0;
};

// Keeps `outstanding` single-record appends in flight through the group committer, the way the
// node drives it: a client thread submits, and the completion callback (on the committer thread)
// only hands the completion back -- like the node's callback posting a message to an actor -- so
// no client work runs on the committer thread between two fdatasyncs.
struct journal_load {
  std::unique_ptr<journal> j;
  std::unique_ptr<group_committer> gc;
  record proto;
  double secs = 0;

  // Completion hand-off, committer thread -> client thread. Latencies are appended here too so the
  // callback does one lock and at most one wake-up.
  std::mutex mu;
  std::condition_variable cv;
  int completed = 0; // completions the client has not yet seen
  bool client_waiting = false;
  std::vector<double> lat_us;
  std::string failure; // the first failed append, thrown on the client thread

  // The committer's callbacks use this object's members: they must all have run before those go.
  ~journal_load() {
    if (gc) gc->stop();
  }

  void submit_one() {
    const auto t0 = clock_type::now();
    auto s = gc->submit(std::vector<record>{proto}, [this, t0](const result<commit_ok>& r) {
      const auto now = clock_type::now();
      bool wake;
      {
        std::lock_guard lock(mu);
        if (!r && failure.empty()) failure = "append: " + r.error().to_string();
        if (r && lat_us.size() < (16u << 20))
          lat_us.push_back(std::chrono::duration<double, std::micro>(now - t0).count());
        ++completed;
        wake = client_waiting;
      }
      if (wake) cv.notify_one();
    });
    if (!s) throw bench_error("submit: " + s.to_string());
  }

  // Runs on the calling (client) thread: submits `outstanding`, then one more per completion until
  // `seconds` have passed, then waits for the rest. The slice's time includes that drain.
  void run_for(double seconds, int outstanding) {
    const auto start = clock_type::now();
    const auto deadline = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
    for (int i = 0; i < outstanding; ++i) submit_one();
    int in_flight = outstanding;
    bool submitting = true;
    while (in_flight > 0) {
      int done;
      {
        std::unique_lock lock(mu);
        client_waiting = true;
        cv.wait(lock, [&] { return completed > 0; });
        client_waiting = false;
        done = std::exchange(completed, 0);
        if (!failure.empty()) throw bench_error(failure);
      }
      in_flight -= done;
      if (submitting && clock_type::now() >= deadline) submitting = false;
      if (!submitting) continue;
      for (int i = 0; i < done; ++i) submit_one(); // keep the number outstanding constant
      in_flight += done;
    }
    secs += std::chrono::duration<double>(clock_type::now() - start).count();
  }
};

// The device on this class of machine drifts between fast and slow fdatasync periods lasting
// seconds, so journal and raw run in alternating 250 ms slices and are compared over the same
// wall-clock span.
phase_result run_phase(const args& a, int outstanding) {
  const std::string dir = a.dir + "/phase-" + std::to_string(outstanding);
  std::filesystem::remove_all(dir);
  journal_options o;
  o.dir = dir;
  o.instance_name = "bench-node";
  auto jr = journal::open(o);
  if (!jr) throw bench_error("open: " + jr.error().to_string());
  journal_load load;
  load.j = std::move(*jr);
  load.gc = std::make_unique<group_committer>(*load.j);
  load.proto = bench_record(a.record_bytes);
  load.lat_us.reserve(1 << 20);
  tandem::bench::raw_sync_loop raw(a.dir, "raw.dat");
  constexpr double slice = 0.25;
  const int slices = std::max(1, static_cast<int>(a.seconds / slice));
  for (int i = 0; i < slices; ++i) {
    load.run_for(slice, outstanding);
    const auto st = load.gc->stats();
    raw.run_for(slice, static_cast<std::size_t>(st.bytes / std::max<std::uint64_t>(st.syncs, 1)));
  }
  load.gc->stop();
  const auto st = load.gc->stats();
  phase_result r;
  r.records_per_s = static_cast<double>(st.records) / load.secs;
  r.mb_per_s = static_cast<double>(st.bytes) / load.secs / 1e6;
  r.p50_us = tandem::bench::percentile_of(load.lat_us, 50);
  r.p99_us = tandem::bench::percentile_of(load.lat_us, 99);
  r.records_per_sync = static_cast<double>(st.records) / static_cast<double>(std::max<std::uint64_t>(st.syncs, 1));
  r.avg_batch_bytes = static_cast<double>(st.bytes) / static_cast<double>(std::max<std::uint64_t>(st.syncs, 1));
  r.raw_mb_per_s = static_cast<double>(raw.bytes_written()) / raw.seconds() / 1e6;
  r.raw_p50_us = tandem::bench::percentile_of(raw.latencies_us(), 50);
  load.gc.reset();
  load.j.reset();
  std::filesystem::remove_all(dir);
  return r;
}

void run_open(const args& a, json_report& rep) {
  const std::string dir = a.dir + "/open";
  std::filesystem::remove_all(dir);
  const auto target = static_cast<std::uint64_t>(a.open_gib * (1ull << 30));
  journal_options o;
  o.dir = dir;
  o.instance_name = "bench-node";
  o.tail_window_bytes = 0;
  std::uint64_t written = 0;
  {
    auto jr = journal::open(o);
    if (!jr) throw bench_error("open: " + jr.error().to_string());
    auto& j = **jr;
    std::vector<record> batch(4096, bench_record(a.record_bytes));
    const std::size_t per_batch = 4096 * encoded_size(batch[0], "bench-node");
    // Stop one batch short of the target so the last segment is (nearly) full: the worst case for
    // open, which scans the last segment.
    while (written + per_batch <= target) {
      if (!j.append(batch) || !j.sync()) throw bench_error("open: filling the journal failed");
      written += per_batch;
    }
  }
  recovery_report recovery;
  const auto t0 = clock_type::now();
  auto jr = journal::open(o, &recovery);
  const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  if (!jr) throw bench_error("reopen: " + jr.error().to_string());
  const auto segs = (*jr)->segments();
  const double gib = static_cast<double>(written) / (1ull << 30);
  const double last_mib = static_cast<double>(segs.back().bytes) / (1 << 20);
  std::printf("open: %.2f GiB, %zu segments (last segment %.0f MiB scanned), %llu records: %.3f s "
              "(target < 3 s; page cache warm)\n",
              gib, segs.size(), last_mib, static_cast<unsigned long long>(recovery.last_seq), secs);
  rep.phase("open", {{"journal_gib", gib},
                     {"segments", segs.size()},
                     {"last_segment_mib", last_mib},
                     {"records", recovery.last_seq},
                     {"open_s", secs}});
  rep.target("open (recovery) of the journal < 3 s, page cache warm", secs < 3, secs, 3, "s");
  jr->reset();
  std::filesystem::remove_all(dir);
}

int run(const args& a, json_report& rep) {
  std::filesystem::create_directories(a.dir);
  print_machine(a.dir, rep);
  std::printf("records: %zu-byte payload; %.1f s per phase\n\n", a.record_bytes, a.seconds);
  rep.settings({{"dir", a.dir}, {"record_payload_bytes", a.record_bytes}, {"seconds_per_phase", a.seconds},
                {"open_gib", a.open_gib}});
  std::printf("%-12s %12s %9s %10s %10s %12s %10s | %9s %10s %8s %8s\n", "outstanding", "records/s", "MB/s",
              "p50 us", "p99 us", "rec/sync", "batch B", "raw MB/s", "raw p50", "MB/s %", "p50 x");
  std::map<int, phase_result> by_outstanding;
  for (int outstanding : {1, 16, 256}) {
    const auto r = run_phase(a, outstanding);
    by_outstanding[outstanding] = r;
    const double pct_of_raw = 100 * r.mb_per_s / r.raw_mb_per_s, p50_x_raw = r.p50_us / r.raw_p50_us;
    std::printf("%-12d %12.0f %9.2f %10.0f %10.0f %12.1f %10.0f | %9.2f %10.0f %7.0f%% %8.2f\n", outstanding,
                r.records_per_s, r.mb_per_s, r.p50_us, r.p99_us, r.records_per_sync, r.avg_batch_bytes, r.raw_mb_per_s,
                r.raw_p50_us, pct_of_raw, p50_x_raw);
    rep.phase("outstanding-" + std::to_string(outstanding),
              {{"outstanding", outstanding},
               {"records_per_s", r.records_per_s},
               {"mb_per_s", r.mb_per_s},
               {"p50_us", r.p50_us},
               {"p99_us", r.p99_us},
               {"records_per_sync", r.records_per_sync},
               {"batch_bytes", r.avg_batch_bytes},
               {"raw_mb_per_s", r.raw_mb_per_s},
               {"raw_p50_us", r.raw_p50_us},
               {"mb_per_s_pct_of_raw", pct_of_raw},
               {"p50_x_raw", p50_x_raw}});
  }
  std::printf("\ntargets: 256 outstanding MB/s >= 80%% of raw; 1 outstanding p50 <= 1.3x raw p50\n");
  const auto& wide = by_outstanding.at(256);
  const double bw_ratio = wide.mb_per_s / wide.raw_mb_per_s;
  rep.target("256 outstanding MB/s >= 80% of raw", bw_ratio >= 0.8, bw_ratio, 0.8, "ratio");
  const auto& one = by_outstanding.at(1);
  const double p50_ratio = one.p50_us / one.raw_p50_us;
  rep.target("1 outstanding p50 <= 1.3x raw p50", p50_ratio <= 1.3, p50_ratio, 1.3, "ratio");
  if (a.open_gib > 0) run_open(a, rep);
  return 0;
}

} // namespace


int main(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; i += 2) {
    const std::string k = i + 1 < argc ? argv[i] : ""; // an option without its value: usage
    if (k == "--dir") a.dir = argv[i + 1];
    else if (k == "--seconds") a.seconds = std::stod(argv[i + 1]);
    else if (k == "--open-gib") a.open_gib = std::stod(argv[i + 1]);
    else if (k == "--record-bytes") a.record_bytes = std::stoul(argv[i + 1]);
    else if (k == "--json") a.json = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: journal_bench [--dir DIR] [--seconds S] [--open-gib G] [--record-bytes N] "
                           "[--json FILE]\n");
      return 2;
    }
  }
  json_report rep("journal_bench", argc, argv);
  if (!rep.set_output(a.json)) return 2;
  return rep.run([&] { return run(a, rep); });
}
