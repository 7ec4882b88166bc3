// fanout_bench: what feeding many async destinations costs the one node that feeds them. Real
// tandemd processes on 127.0.0.1, published to through the client library. Not a test; see
// docs/performance.md.
//
//   fanout_bench [--dests 1,8,32,64] [--seconds S] [--record-bytes B] [--window W]
//                [--idle-seconds S] [--data FILE] [--dir DIR] [--tandemd PATH]
//                [--catch-up-timeout S] [--json FILE]
//
// For each N of --dests, in its own temp dir under DIR (default /tmp):
//   1. N destination nodes D1..DN (no destinations of their own) and a source node S that names
//      all N as `async` destinations it dials (reconnect initial 50 ms, max 500 ms, as in
//      replication_bench). Wait (bounded) until S's /status shows every link connected.
//   2. One publisher with W (1024) outstanding publishes B-byte (1 KiB) records to S for S
//      seconds: async acks mean persisted on S only, so S would accept records faster than N
//      destinations sharing this machine's cores store them; publishing pauses while the slowest
//      link is more than --max-lag (8192) records behind, so the links follow the tail (the
//      window holds ~28k 1 KiB records) and the rate is the highest the set sustains.
//      After the last persisted ack, wait until every destination has acknowledged everything S
//      holds durably (lag_records 0 and acked >= S's durable_seq on every link; bounded by
//      --catch-up-timeout and by 60 s without progress). The clock stops there.
//   3. From /proc of S, deltas over 2.: utime + stime, read_bytes and rchar; VmRSS before it
//      (links up, nothing published), VmHWM and VmRSS after it. Then, with every link still
//      connected, S's CPU over --idle-seconds (5), after a 1 s settle.
//   4. Stop every node of this N and remove its dir (the destinations' journals hold
//      N copies of the run), then the next N.
// Delivered records = published x N. Then the targets, judged between the largest and the
// smallest N: CPU per delivered record (<= 1.5x), RSS (peak, <= 2x), disk reads while the
// destinations follow the tail (~0: under 1 MiB at every N). The per-N figures also go to a
// whitespace-separated data file for bench/fanout_plot.gp; --json FILE writes the figures and the
// targets' verdicts as one JSON document (bench_json.hpp).
// Every node is stopped and the temp dir removed at the end, on error and on SIGINT/SIGTERM.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_json.hpp"
#include "bench/bench_util.hpp"
#include "bench/node_harness.hpp"
#include "client/client_connection.hpp"
#include "client/http_get.hpp"
#include "client/publisher.hpp"

using namespace tandem;
using namespace tandem::bench;
using namespace std::chrono_literals;

namespace {

struct args {
  std::vector<int> dests = {1, 8, 32, 64};
  double seconds = 10;
  std::size_t record_bytes = 1024;
  std::size_t window = 1024;
  std::uint64_t max_lag = 8192; // publishing pauses while the slowest link is further behind
  double idle_seconds = 5;
  double catch_up_timeout = 900;
  std::string data = "fanout.dat";
  std::string dir = "/tmp";
  std::string tandemd = TANDEM_BINARY_DIR "/tools/tandemd";
  std::optional<std::string> json; // --json FILE
};

struct proc_sample {
  std::uint64_t cpu_ticks = 0, read_bytes = 0, rchar = 0;
};

proc_sample sample(pid_t pid) {
  return {cpu_ticks(pid), proc_field(pid, "io", "read_bytes"), proc_field(pid, "io", "rchar")};
}

// ---- nodes ------------------------------------------------------------------------------------

// Writes the config and starts the process; does not wait for it (see wait_healthy), so that
// 64 destinations start side by side.
void launch_node(const args& a, node& n, const std::vector<const node*>& async_dests) {
  nlohmann::json c = base_config(n);
  for (const node* d : async_dests)
    c["destinations"].push_back({{"name", d->name},
                                 {"sync_type", "async"},
                                 {"addresses", {"127.0.0.1:" + std::to_string(d->replication)}},
                                 {"reconnect", {{"initial_ms", 50}, {"max_ms", 500}}}});
  bench::launch_node(a.tandemd, n, c);
}

// What S's /status says about its links, summed up.
struct links_view {
  bool valid = false;
  int connected = 0;
  std::uint64_t durable_seq = 0;           // S's journal
  std::uint64_t min_acked = 0;             // lowest `acked` over the links
  std::uint64_t max_lag_records = 0, max_lag_bytes = 0;
  std::uint64_t acked_sum = 0;             // for progress
  std::uint64_t resends = 0, disconnects = 0;
  std::uint64_t segment_read_bytes = 0;    // links' disk_read_bytes: journal bytes read behind the tail window
  std::vector<std::string> not_connected;
};

links_view view_links(const node& s) {
  links_view v;
  auto j = s.status();
  if (!j.is_object() || !j.contains("destinations") || !j.contains("journal")) return v;
  v.valid = true;
  v.durable_seq = j["journal"].value("durable_seq", std::uint64_t{0});
  bool first = true;
  for (const auto& d : j["destinations"]) {
    if (d.value("connected", false)) ++v.connected;
    else v.not_connected.push_back(d.value("name", "?"));
    const auto acked = d.value("acked", std::uint64_t{0});
    v.min_acked = first ? acked : std::min(v.min_acked, acked);
    first = false;
    v.acked_sum += acked;
    v.max_lag_records = std::max(v.max_lag_records, d.value("lag_records", std::uint64_t{0}));
    v.max_lag_bytes = std::max(v.max_lag_bytes, d.value("lag_bytes", std::uint64_t{0}));
    v.resends += d.value("resends", std::uint64_t{0});
    v.disconnects += d.value("disconnects", std::uint64_t{0});
    v.segment_read_bytes += d.value("disk_read_bytes", std::uint64_t{0});
  }
  return v;
}

std::string names(const std::vector<std::string>& v, std::size_t max = 8) {
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < max; ++i) out += (i ? "," : "") + v[i];
  if (v.size() > max) out += ",... (" + std::to_string(v.size()) + ")";
  return out;
}

void wait_all_connected(const node& s, int n, std::chrono::seconds timeout) {
  const auto deadline = bench_clock::now() + timeout;
  links_view v;
  while (bench_clock::now() < deadline) {
    if (!child_running(s.pid)) throw bench_error("source exited:\n" + s.log_tail());
    v = view_links(s);
    if (v.valid && v.connected == n) return;
    std::this_thread::sleep_for(50ms);
  }
  throw bench_error("source connected to " + std::to_string(v.connected) + " of " + std::to_string(n) +
                    " destinations within " + std::to_string(timeout.count()) + " s; not connected: " +
                    names(v.not_connected) + "\n" + s.log_tail());
}

// ---- one fan-out width ------------------------------------------------------------------------

struct result {
  int dests = 0;
  std::uint64_t published = 0;
  double publish_secs = 0, elapsed = 0; // publishing (incl. S's acks); until every destination acked
  double cpu_secs = 0;
  std::uint64_t read_bytes = 0, rchar = 0, segment_read_bytes = 0;
  std::uint64_t rss_before_kib = 0, hwm_kib = 0, rss_kib = 0; // VmRSS with the links up, before publishing
  double idle_cpu_pct = 0;
  std::uint64_t max_lag_records = 0, max_lag_bytes = 0, resends = 0, disconnects = 0, lag_pauses = 0;

  double delivered() const { return static_cast<double>(published) * dests; }
  double delivered_per_s() const { return delivered() / elapsed; }
  double cpu_us_per_record() const { return cpu_secs / delivered() * 1e6; }
};

// Publishes for --seconds from t0, pausing while the slowest link is more than --max-lag records
// behind (lag_now, from the watcher); counts the pauses. Returns what failed, or empty.
std::string publish_paced(const args& a, client::publisher& pub, const std::string& payload,
                          const std::atomic<std::uint64_t>& lag_now, bench_clock::time_point t0,
                          std::uint64_t& pauses) {
  const auto deadline =
    t0 + std::chrono::duration_cast<bench_clock::duration>(std::chrono::duration<double>(a.seconds));
  // The highest rate S and its destinations sustain with every link following the tail: the
  // destinations (all on this machine's cores) are slower than S's intake, so publishing
  // pauses while the slowest link is more than --max-lag records behind (the tail window holds
  // ~28k 1 KiB records); the figures are then those of links that follow the tail.
  while (bench_clock::now() < deadline) {
    if (lag_now.load() > a.max_lag) {
      ++pauses;
      std::this_thread::sleep_for(2ms);
      continue;
    }
    if (!pub.publish("bench/fanout", payload, 10000ms)) {
      return "publish: " + pub.error();
    }
  }
  return {};
}

// Waits until every link has acknowledged everything S holds durably (S holds nothing else),
// recording the lag seen and the time from t0 in `r`; throws when progress stops for 60 s or the
// catch-up timeout passes.
void wait_caught_up(const args& a, const node& s, int n, const links_view& before, bench_clock::time_point t0,
                    result& r) {
  const auto cap = t0 + std::chrono::duration_cast<bench_clock::duration>(
                            std::chrono::duration<double>(a.seconds + a.catch_up_timeout));
  auto last_progress = bench_clock::now();
  std::uint64_t last_acked_sum = 0;
  for (;;) {
    auto v = view_links(s);
    const auto now = bench_clock::now();
    if (v.valid) {
      r.max_lag_records = std::max(r.max_lag_records, v.max_lag_records);
      r.max_lag_bytes = std::max(r.max_lag_bytes, v.max_lag_bytes);
      if (v.max_lag_records == 0 && v.min_acked >= v.durable_seq) {
        r.elapsed = std::chrono::duration<double>(now - t0).count();
        r.resends = v.resends - before.resends;
        r.disconnects = v.disconnects - before.disconnects;
        break;
      }
      if (v.acked_sum != last_acked_sum) {
        last_acked_sum = v.acked_sum;
        last_progress = now;
      }
    }
    if (!child_running(s.pid)) throw bench_error("source exited while destinations caught up:\n" + s.log_tail());
    if (now - last_progress > 60s || now > cap)
      throw bench_error("N=" + std::to_string(n) + ": destinations did not catch up (lag up to " +
                        std::to_string(v.max_lag_records) + " records, " + std::to_string(v.connected) + "/" +
                        std::to_string(n) + " connected, not connected: " + names(v.not_connected) + ")\n" +
                        s.log_tail());
    std::this_thread::sleep_for(50ms);
  }
}

// S's CPU while idle with every link up (into r.idle_cpu_pct); throws when a link drops.
void measure_idle(const args& a, const node& s, int n, result& r) {
  std::this_thread::sleep_for(1s);
  wait_all_connected(s, n, 10s);
  const auto i0 = cpu_ticks(s.pid);
  const auto w0 = bench_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(a.idle_seconds));
  const auto i1 = cpu_ticks(s.pid);
  const double wall = std::chrono::duration<double>(bench_clock::now() - w0).count();
  r.idle_cpu_pct = 100 * ticks_to_seconds(i1 - i0) / wall;
  const auto after_idle = view_links(s);
  if (after_idle.connected != n)
    throw bench_error("N=" + std::to_string(n) + ": a link dropped during the idle measurement: " +
                      names(after_idle.not_connected) + "\n" + s.log_tail());
}

// Starts the N destinations, then S naming them all; returns once every link of S is up.
void start_fanout(const args& a, std::vector<node>& dests, node& s, int n) {
  for (auto& d : dests) launch_node(a, d, {});
  for (auto& d : dests) wait_healthy(d, 60s);
  std::vector<const node*> targets;
  for (const auto& d : dests) targets.push_back(&d);
  launch_node(a, s, targets);
  wait_healthy(s, 30s);
  wait_all_connected(s, n, std::chrono::seconds{30 + n});
}

// Publishes the run's messages into S (paced by the slowest link's lag), waits until every
// destination holds them, and records throughput, lag, CPU, reads and memory into r.
void publish_measured(const args& a, const node& s, int n, const std::string& run_tag, result& r) {
  const std::string payload(a.record_bytes, 'x');
  client::client_connection conn;
  if (auto err = conn.connect("127.0.0.1", s.client, "fanout_bench", 5000ms); !err.empty())
    throw bench_error("connect to S: " + err);
  client::publisher pub(conn, {"fanout-" + run_tag + "-n" + std::to_string(n), a.window});

  // While publishing, a second thread watches how far the slowest link falls behind.
  std::atomic<bool> publishing{true};
  std::atomic<std::uint64_t> lag_records{0}, lag_bytes{0}, lag_now{0};
  std::thread watcher([&] {
    while (publishing) {
      try {
        auto v = view_links(s);
        lag_now = v.max_lag_records;
        lag_records = std::max<std::uint64_t>(lag_records, v.max_lag_records);
        lag_bytes = std::max<std::uint64_t>(lag_bytes, v.max_lag_bytes);
      } catch (const std::exception&) { // a malformed answer: skip this sample
      }
      std::this_thread::sleep_for(50ms);
    }
  });
  struct join_on_exit { // the watcher must not outlive this scope, also when it is left by a throw
    std::atomic<bool>& flag;
    std::thread& t;
    ~join_on_exit() {
      flag = false;
      if (t.joinable()) t.join();
    }
  } join_watcher{publishing, watcher};
  const auto before = view_links(s);
  r.rss_before_kib = proc_field(s.pid, "status", "VmRSS");
  const auto p0 = sample(s.pid);
  const auto t0 = bench_clock::now();
  std::uint64_t pauses = 0;
  std::string pub_error = publish_paced(a, pub, payload, lag_now, t0, pauses);
  r.lag_pauses = pauses;
  if (pub_error.empty() && !pub.wait_all(60000ms)) pub_error = "wait_all: " + pub.error();
  r.publish_secs = std::chrono::duration<double>(bench_clock::now() - t0).count();
  publishing = false;
  watcher.join();
  if (!pub_error.empty()) throw bench_error("N=" + std::to_string(n) + ": " + pub_error + "\n" + s.log_tail());
  if (pub.counters().negative > 0)
    throw bench_error("N=" + std::to_string(n) + ": " + std::to_string(pub.counters().negative) + " negative acks");
  r.published = pub.counters().persisted;

  wait_caught_up(a, s, n, before, t0, r);
  const auto p1 = sample(s.pid);
  r.max_lag_records = std::max<std::uint64_t>(r.max_lag_records, lag_records);
  r.max_lag_bytes = std::max<std::uint64_t>(r.max_lag_bytes, lag_bytes);
  r.cpu_secs = ticks_to_seconds(p1.cpu_ticks - p0.cpu_ticks);
  r.read_bytes = p1.read_bytes - p0.read_bytes;
  r.segment_read_bytes = view_links(s).segment_read_bytes - before.segment_read_bytes;
  r.rchar = p1.rchar - p0.rchar;
  r.hwm_kib = proc_field(s.pid, "status", "VmHWM");
  r.rss_kib = proc_field(s.pid, "status", "VmRSS");
  conn.close();
}

result run_width(const args& a, const std::string& root, int n, const std::string& run_tag) {
  const std::string dir = root + "/n" + std::to_string(n);
  std::vector<node> dests;
  dests.reserve(static_cast<std::size_t>(n));
  for (int i = 1; i <= n; ++i) dests.push_back(node{"D" + std::to_string(i), dir + "/D" + std::to_string(i)});
  node s{"S", dir + "/S"};
  std::vector<node*> all;
  for (auto& d : dests) all.push_back(&d);
  all.push_back(&s);
  result r;
  r.dests = n;
  try {
    start_fanout(a, dests, s, n);
    publish_measured(a, s, n, run_tag, r);
    measure_idle(a, s, n, r);
  } catch (...) {
    stop_nodes(all);
    throw;
  }
  stop_nodes(all);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return r;
}

// ---- report -----------------------------------------------------------------------------------

void print_header() {
  std::printf("%5s %10s %8s %8s %12s %12s %9s %10s %12s %12s %9s %9s %9s %7s %10s %9s %12s %8s\n", "dests", "published",
              "pub s", "elapsed", "rec/s/dest", "rec/s total", "cpu s", "cpu s/M", "read_bytes", "rchar", "RSS0 MiB",
              "HWM MiB", "RSS MiB", "idle%", "max lag", "resends", "seg read", "pauses");
}

// Prints one width's row and records it as the phase "dests-N".
void report_row(const result& r, json_report& rep) {
  std::printf("%5d %10llu %8.2f %8.2f %12.0f %12.0f %9.2f %10.2f %12llu %12llu %9.1f %9.1f %9.1f %7.2f %10llu %9llu %12llu %8llu\n",
              r.dests, static_cast<unsigned long long>(r.published), r.publish_secs, r.elapsed,
              static_cast<double>(r.published) / r.elapsed, r.delivered_per_s(), r.cpu_secs,
              r.cpu_us_per_record(), static_cast<unsigned long long>(r.read_bytes),
              static_cast<unsigned long long>(r.rchar), r.rss_before_kib / 1024.0, r.hwm_kib / 1024.0,
              r.rss_kib / 1024.0, r.idle_cpu_pct,
              static_cast<unsigned long long>(r.max_lag_records), static_cast<unsigned long long>(r.resends),
              static_cast<unsigned long long>(r.segment_read_bytes), static_cast<unsigned long long>(r.lag_pauses));
  std::fflush(stdout);
  rep.phase("dests-" + std::to_string(r.dests),
            {{"dests", r.dests},
             {"published", r.published},
             {"publish_s", r.publish_secs},
             {"elapsed_s", r.elapsed},
             {"delivered_per_s_per_dest", static_cast<double>(r.published) / r.elapsed},
             {"delivered_per_s_total", r.delivered_per_s()},
             {"cpu_s", r.cpu_secs},
             {"cpu_us_per_delivered", r.cpu_us_per_record()},
             {"read_bytes", r.read_bytes},
             {"rchar_bytes", r.rchar},
             {"rss_before_mib", r.rss_before_kib / 1024.0},
             {"hwm_mib", r.hwm_kib / 1024.0},
             {"rss_mib", r.rss_kib / 1024.0},
             {"idle_cpu_pct", r.idle_cpu_pct},
             {"max_lag_records", r.max_lag_records},
             {"max_lag_bytes", r.max_lag_bytes},
             {"resends", r.resends},
             {"disconnects", r.disconnects},
             {"segment_read_bytes", r.segment_read_bytes},
             {"lag_pauses", r.lag_pauses}});
}

void write_data(const std::string& path, const std::vector<result>& rs, const std::string& machine) {
  std::ofstream f(path);
  if (!f) throw bench_error(errno_text("open " + path));
  f << "# fanout_bench: one source, N async destinations; " << machine << "\n"
    << "# dests published elapsed_s delivered_per_s_per_dest delivered_per_s_total cpu_s cpu_us_per_delivered "
       "read_bytes rchar_bytes hwm_kib rss_kib idle_cpu_pct max_lag_records rss_before_kib\n";
  for (const auto& r : rs) {
    char line[512];
    std::snprintf(line, sizeof line, "%d %llu %.3f %.1f %.1f %.3f %.3f %llu %llu %llu %llu %.3f %llu %llu\n", r.dests,
                  static_cast<unsigned long long>(r.published), r.elapsed, static_cast<double>(r.published) / r.elapsed,
                  r.delivered_per_s(), r.cpu_secs, r.cpu_us_per_record(), static_cast<unsigned long long>(r.read_bytes),
                  static_cast<unsigned long long>(r.rchar), static_cast<unsigned long long>(r.hwm_kib),
                  static_cast<unsigned long long>(r.rss_kib), r.idle_cpu_pct,
                  static_cast<unsigned long long>(r.max_lag_records),
                  static_cast<unsigned long long>(r.rss_before_kib));
    f << line;
  }
}

int run(const args& a, json_report& rep) {
  const std::string root = make_temp_root(a.dir, "tandem-fanout-bench");
  const std::string machine = rep.machine(root);
  std::printf("%s\n", machine.c_str());
  std::string widths;
  for (int n : a.dests) widths += (widths.empty() ? "" : ",") + std::to_string(n);
  std::printf("tandemd: %s\nfan-out: one source S, async destinations N in {%s}; %zu-byte records, %zu outstanding, "
              "%.1f s of publishing per N, then until every destination acked; idle %.0f s\n\n",
              a.tandemd.c_str(), widths.c_str(), a.record_bytes, a.window, a.seconds, a.idle_seconds);
  rep.settings({{"tandemd", a.tandemd}, {"dests", a.dests}, {"record_bytes", a.record_bytes}, {"window", a.window},
                {"max_lag_records", a.max_lag}, {"publish_s", a.seconds}, {"idle_s", a.idle_seconds},
                {"catch_up_timeout_s", a.catch_up_timeout}, {"data", a.data}});
  const std::string run_tag = std::to_string(::getpid());
  std::vector<result> rs;
  print_header();
  for (int n : a.dests) {
    rs.push_back(run_width(a, root, n, run_tag));
    report_row(rs.back(), rep);
  }
  std::printf("(pub s: publishing until S's last persisted ack; elapsed: until every destination acked it; "
              "rec/s total = published x dests / elapsed;\n cpu s: S's utime+stime over elapsed; cpu s/M: per "
              "million delivered records; read_bytes, rchar: S's /proc/PID/io deltas over elapsed; seg read: journal bytes "
              "S's links read from segment files (/status disk_read_bytes);\n pauses: 2 ms publishing pauses for the "
              "slowest link (--max-lag);\n RSS0: S's VmRSS "
              "with every link up, before publishing; HWM/RSS: S's VmHWM/VmRSS at the end;\n idle%%: S's CPU over "
              "%.0f s with every link up; max lag: the slowest link's "
              "lag_records, sampled;\n resends: records S read again after a link dropped)\n",
              a.idle_seconds);
  write_data(a.data, rs, machine);
  std::printf("data: %s\n", a.data.c_str());

  const auto lo = std::min_element(rs.begin(), rs.end(), [](auto& x, auto& y) { return x.dests < y.dests; });
  const auto hi = std::max_element(rs.begin(), rs.end(), [](auto& x, auto& y) { return x.dests < y.dests; });
  std::printf("\nload average now: %s\ntargets (N=%d against N=%d):\n", load_average().c_str(), hi->dests, lo->dests);
  const double cpu_ratio = hi->cpu_us_per_record() / lo->cpu_us_per_record();
  const char* v = rep.target("source CPU per delivered record at the largest N <= 1.5x the smallest", cpu_ratio <= 1.5,
                             cpu_ratio, 1.5, "ratio",
                             {{"n_large", hi->dests},
                              {"n_small", lo->dests},
                              {"cpu_us_per_delivered_large", hi->cpu_us_per_record()},
                              {"cpu_us_per_delivered_small", lo->cpu_us_per_record()}});
  std::printf("  %s source CPU per delivered record at N=%d <= 1.5x N=%d: %.2fx (%.2f vs %.2f us)\n", v, hi->dests,
              lo->dests, cpu_ratio, hi->cpu_us_per_record(), lo->cpu_us_per_record());
  // Every record's intake (client read, journal write + fdatasync, ack) is paid once however many
  // destinations there are, so the ratio above falls with N by construction; the cost each
  // further destination adds per record shows the fan-out path alone.
  if (hi->dests > lo->dests) {
    const double per_pub_lo = lo->cpu_secs / static_cast<double>(lo->published) * 1e6;
    const double per_pub_hi = hi->cpu_secs / static_cast<double>(hi->published) * 1e6;
    const double per_further = (per_pub_hi - per_pub_lo) / (hi->dests - lo->dests);
    std::printf("         (per published record: %.2f us at N=%d, %.2f us at N=%d: %.2f us per further destination)\n",
                per_pub_lo, lo->dests, per_pub_hi, hi->dests, per_further);
    rep.phase("cpu-per-published-record", {{"n_small", lo->dests},
                                           {"cpu_us_per_published_small", per_pub_lo},
                                           {"n_large", hi->dests},
                                           {"cpu_us_per_published_large", per_pub_hi},
                                           {"cpu_us_per_further_dest", per_further}});
  }
  std::uint64_t worst_read = 0;
  int worst_at = lo->dests;
  for (const auto& r : rs)
    if (std::max(r.read_bytes, r.segment_read_bytes) >= worst_read) {
      worst_read = std::max(r.read_bytes, r.segment_read_bytes);
      worst_at = r.dests;
    }
  v = rep.target("source disk reads while destinations follow the tail < 1 MiB at every N (value: the largest, "
                 "bytes)",
                 worst_read < (1u << 20), static_cast<double>(worst_read), 1u << 20, "bytes", {{"at_n", worst_at}});
  std::printf("  %s source disk reads while destinations follow the tail ~0 (< 1 MiB at every N; the larger of "
              "read_bytes and the journal's own segment-read count): max %llu bytes (N=%d)\n",
              v, static_cast<unsigned long long>(worst_read), worst_at);
  const double rss_ratio = static_cast<double>(hi->hwm_kib) / static_cast<double>(lo->hwm_kib);
  const double end_ratio = static_cast<double>(hi->rss_kib) / static_cast<double>(lo->rss_kib);
  v = rep.target("source peak RSS at the largest N <= 2x the smallest", rss_ratio <= 2, rss_ratio, 2, "ratio",
                 {{"hwm_mib_large", hi->hwm_kib / 1024.0},
                  {"hwm_mib_small", lo->hwm_kib / 1024.0},
                  {"rss_end_ratio", end_ratio},
                  {"rss_end_mib_large", hi->rss_kib / 1024.0},
                  {"rss_end_mib_small", lo->rss_kib / 1024.0}});
  std::printf("  %s source peak RSS at N=%d <= 2x N=%d: %.2fx (%.1f vs %.1f MiB; RSS at the end %.2fx: %.1f vs "
              "%.1f MiB)\n",
              v, hi->dests, lo->dests, rss_ratio, hi->hwm_kib / 1024.0, lo->hwm_kib / 1024.0, end_ratio,
              hi->rss_kib / 1024.0, lo->rss_kib / 1024.0);
  return 0;
}

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    const int n = std::stoi(item);
    if (n < 1) throw std::invalid_argument("destinations must be >= 1");
    out.push_back(n);
  }
  if (out.empty()) throw std::invalid_argument("empty list");
  return out;
}

} // namespace

int main(int argc, char** argv) {
  args a;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string k = argv[i];
      const bool has_value = i + 1 < argc;
      if (k == "--dests" && has_value) a.dests = parse_list(argv[++i]);
      else if (k == "--seconds" && has_value) a.seconds = std::stod(argv[++i]);
      else if (k == "--record-bytes" && has_value) a.record_bytes = std::stoull(argv[++i]);
      else if (k == "--window" && has_value) a.window = std::stoull(argv[++i]);
      else if (k == "--max-lag" && has_value) a.max_lag = std::stoull(argv[++i]);
      else if (k == "--idle-seconds" && has_value) a.idle_seconds = std::stod(argv[++i]);
      else if (k == "--catch-up-timeout" && has_value) a.catch_up_timeout = std::stod(argv[++i]);
      else if (k == "--data" && has_value) a.data = argv[++i];
      else if (k == "--dir" && has_value) a.dir = argv[++i];
      else if (k == "--tandemd" && has_value) a.tandemd = argv[++i];
      else if (k == "--json" && has_value) a.json = argv[++i];
      else throw std::invalid_argument("unknown or incomplete option " + k);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fanout_bench: %s\nusage: fanout_bench [--dests 1,8,32,64] [--seconds S] [--record-bytes B] "
                         "[--window W] [--max-lag RECORDS] [--idle-seconds S] [--data FILE] [--dir DIR] [--tandemd PATH] "
                         "[--catch-up-timeout S] [--json FILE]\n",
                 e.what());
    return 2;
  }
  json_report rep("fanout_bench", argc, argv);
  if (!rep.set_output(a.json)) return 2;
  return run_with_cleanup(rep, [&] { return run(a, rep); });
}
