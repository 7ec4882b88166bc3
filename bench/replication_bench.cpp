// replication_bench: what replication costs a publisher, measured end to end through real
// tandemd processes on 127.0.0.1 and the client library. Not a test; see docs/performance.md.
//
//   replication_bench [--dir DIR] [--seconds S] [--down-messages N] [--idle-seconds S]
//                     [--tandemd PATH] [--tail-window-bytes N] [--failover-trials N] [--quick]
//                     [--only-metrics-cost] [--only-tls-cost] [--only-throughput] [--no-redis]
//                     [--no-floor] [--hops N] [--hops-gap-ms G] [--baseline PATH] [--json FILE]
//
// In one run, in a fresh temp dir under DIR (default /tmp, the journal bench's filesystem):
//  1-3. Three targets side by side: a single node with no destinations, a pair A<->B with sync
//       destinations both ways, and a fresh pair with async destinations both ways. 1 KiB
//       messages are published to the entry node (the single node, or A) by one publisher per
//       target and window (1 outstanding, then 1024), persisted-ack latency measured by the
//       publisher. The targets run one at a time, in alternating slices of 0.5 s (with a raw
//       1 KiB write + fdatasync loop as a fourth slice at window 1), so all of them see the same
//       device periods: fdatasync latency on shared machines drifts between fast and slow
//       stretches lasting seconds, which makes sequential phases incomparable. A slice ends with
//       its drain (wait for every ack); after an async slice the bench also waits, untimed, until
//       B has acknowledged everything, so no replication tail runs into the next slice.
//       A Redis primary + replica (both appendfsync always; bench/peers/redis_pair.hpp) runs in
//       the same slices as a fourth target: XADD + WAIT 1 per message at window 1, 100 XADD per
//       WAIT 1 at window 1024 (--no-redis, or no redis-server / libhiredis-dev: left out), and
//       beside it a lone Redis primary (no replica; XADD answered once fsynced), "redis1": issue
//       19's ratios of a sync pair to a single node, applied to Redis, as a reference line.
//       The floor (bench/peers/floor_node.cpp: one thread per process, blocking calls) runs in the
//       same slices too, as a primary with a replica ("floor", sending before its own fdatasync)
//       and alone ("floor1"), at Tandem's windows: the same ratios for the least a durable pair
//       and node can do on this host, the best those targets can be here; and "floorT"/"floorT1",
//       the same with each process's disk work on a second thread, as Tandem's journal is
//       (--no-floor: left out).
//       The sync pair runs with the defaults, so its links send a record once it is written
//       (journal.send_before_durable, issue 19 part 1: the two fdatasyncs overlap); a fourth Tandem
//       target, "late", is a sync pair with it off (a record is sent once durable), in the same
//       slices: issue 19's targets are judged on "sync", and its ratio to "late" is the before/after.
//       --only-throughput runs phases 1-3 alone, with those targets. Every row at window 1 also
//       gives the share of its messages acked after more than 1 ms (">1ms%", over_1ms_pct), which
//       decides the p99 ratio (docs/performance.md, "What the p99 target measures").
//  4.   A node whose (async) destination is down (its address is a closed port) receives N
//       messages; its VmRSS before and after. The single node of 1-3 serves as the control.
//  5.   A freshly started sync pair left idle: CPU% of each tandemd over --idle-seconds (10).
//  6.   Failover: A's async destination B is served by B1 and B2 (both instance "B", own data
//       dirs), listed in that order; a publisher keeps A busy (~2000 1 KiB msg/s). The server A
//       replicates to is SIGKILLed, then restarted once A has moved; --failover-trials (6) kills
//       alternate, so half are B1 -> B2 (B1 refused first) and half B2 -> B1 (search from the
//       top). Per kill: time to B2's (resp. B1's) resume ack, i.e. A's link connected there
//       (A's /status polled every ~1 ms), and until the new server durably holds everything A
//       held durably at the kill (its own /status).
//  7.   Metrics cost: two sync pairs and two async pairs, one of each with metrics.enabled=false
//       (no per-actor hooks, no latency histograms), window 1024, alternating slices as in 1-3;
//       throughput with metrics on against off. --only-metrics-cost runs this phase alone.
//  8.   TLS cost (issue 18): a plaintext sync pair and a sync pair whose links speak mutual TLS
//       (certificates made at the start, tests/support/cert_factory), in alternating slices as in
//       1-3 (plaintext, TLS, then TLS, plaintext, ...), at window 1 and 1024: throughput, p50/p99
//       and node CPU per message (both tandemd processes' CPU time / messages). Prints the OpenSSL
//       version and whether the CPU has AES-NI. --only-tls-cost runs this phase alone.
//  --hops N: instead of all that, where the time of a message at 1 outstanding goes (issue 19 part
//       2): a single node, a sync pair and a late pair started with TANDEM_HOP_TRACE record
//       per-hop timestamps (journal/hop_trace.hpp); N messages each; per target the median offset
//       of every hop from the entry node's client_read (bench/hop_table.hpp). --hops-gap-ms G
//       idles G ms before each message (as a node does between messages over a long round trip).
//  --baseline PATH (also spelled --hops-baseline): a single node and a sync pair of another tandemd
//       build in the same slices (phases 1-3: targets single-base and sync-base; --hops:
//       single-baseline and sync-baseline), so that a change is judged before/after within one run.
// Every node is stopped and the temp dir removed at the end, on error and on SIGINT/SIGTERM.
// --json FILE: the same figures and the targets' verdicts as one JSON document (bench_json.hpp).
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_json.hpp"
#include "bench/hop_table.hpp"
#include "bench/bench_util.hpp"
#include "bench/node_harness.hpp"
#include "bench/peers/floor_pair.hpp"
#include "bench/peers/redis_peer.hpp"
#include "client/client_connection.hpp"
#include "client/http_get.hpp"
#include "client/percentile.hpp"
#include "client/publisher.hpp"
#include "tests/support/cert_factory.hpp"

#include <openssl/crypto.h>

using namespace tandem;
using namespace tandem::bench;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t payload_bytes = 1024;
constexpr double slice_seconds = 0.5;

struct args {
  std::string dir = "/tmp";
  double seconds = 5;
  std::uint64_t down_messages = 1'000'000;
  double idle_seconds = 10;
  std::string tandemd = TANDEM_BINARY_DIR "/tools/tandemd";
  std::uint64_t tail_window_bytes = 0; // 0: the node's default (diagnostic knob)
  int failover_trials = 6;
  bool only_metrics_cost = false; // run phase 7 alone
  bool only_tls_cost = false;     // run phase 8 alone
  bool only_throughput = false;   // run phases 1-3 alone, with issue 19's targets
  bool redis = true;              // the Redis peer in phases 1-3 when built and installed (--no-redis)
  bool floor = true;              // the floor (floor_node) in phases 1-3 (--no-floor)
  std::size_t hops = 0;           // --hops N: the per-hop table alone, N messages per target
  double hops_gap_ms = 0;         // --hops-gap-ms G: idle G ms before each traced message
  std::string baseline;           // --baseline PATH: that tandemd's nodes too, in the same slices
  std::optional<std::string> json; // --json FILE
};

// ---- nodes ------------------------------------------------------------------------------------

struct dest_spec {
  std::string name;
  std::string sync_type;
  std::string address; // "127.0.0.1:PORT"
  bool fast_reconnect = true;
};

// `edit`, if given, changes the config last (e.g. a destination's further addresses).
void start_node(const args& a, node& n, const std::vector<dest_spec>& dests,
                const std::function<void(nlohmann::json&)>& edit = {}) {
  nlohmann::json c = base_config(n);
  for (const auto& d : dests) {
    nlohmann::json j = {{"name", d.name}, {"sync_type", d.sync_type}, {"addresses", {d.address}}};
    if (d.fast_reconnect) j["reconnect"] = {{"initial_ms", 50}, {"max_ms", 500}};
    c["destinations"].push_back(j);
  }
  if (a.tail_window_bytes > 0) c["journal"] = {{"tail_window_bytes", a.tail_window_bytes}};
  if (edit) edit(c);
  launch_node(a.tandemd, n, c);
  wait_healthy(n, 15s);
}

void wait_connected(const node& from, const std::string& dest, std::chrono::seconds timeout) {
  const auto deadline = bench_clock::now() + timeout;
  while (bench_clock::now() < deadline) {
    auto d = from.destination(dest);
    if (d.is_object() && d.value("connected", false)) return;
    std::this_thread::sleep_for(20ms);
  }
  throw bench_error("node " + from.name + " not connected to " + dest + " within timeout:\n" + from.log_tail());
}

// Starts A and B, each a `sync_type` destination of the other, and waits until both links are up.
void start_pair(const args& a, node& na, node& nb, const std::string& sync_type,
                const std::function<void(nlohmann::json&)>& edit = {}) {
  start_node(a, na, {{nb.name, sync_type, "127.0.0.1:" + std::to_string(nb.replication)}}, edit);
  start_node(a, nb, {{na.name, sync_type, "127.0.0.1:" + std::to_string(na.replication)}}, edit);
  wait_connected(na, nb.name, 15s);
  wait_connected(nb, na.name, 15s);
}

// ---- load -------------------------------------------------------------------------------------

// One publisher on its own connection to an entry node, kept across slices.
struct load {
  std::string label;
  node* entry = nullptr;
  node* peer = nullptr; // the other node of a pair, or null
  bool async_peer = false;
  std::unique_ptr<client::client_connection> conn;
  std::unique_ptr<client::publisher> pub;
  double secs = 0;
  double cpu_entry = 0, cpu_peer = 0, cpu_client = 0; // seconds of CPU during the timed slices
  std::uint64_t max_lag_after_slice = 0;              // async: B's lag when the slice's acks were in
  double catch_up_secs = 0;                           // async: untimed wait for B after slices
  nlohmann::json committer_before;

  void open(const std::string& publisher_id, std::size_t window) {
    conn = std::make_unique<client::client_connection>();
    if (auto err = conn->connect("127.0.0.1", entry->client, "replication_bench", 5000ms); !err.empty())
      throw bench_error(label + ": connect: " + err);
    pub = std::make_unique<client::publisher>(*conn, client::publisher_options{publisher_id, window});
    committer_before = entry->status()["journal"]["committer"];
  }
};

// The load `label` publishing to `entry` (`peer`: the other node of its pair, or null).
load load_on(std::string label, node* entry, node* peer = nullptr, bool async_peer = false) {
  load l;
  l.label = std::move(label);
  l.entry = entry;
  l.peer = peer;
  l.async_peer = async_peer;
  return l;
}

double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void wait_caught_up(load& l) {
  const auto t0 = bench_clock::now();
  const auto deadline = t0 + 120s;
  bool first = true;
  while (bench_clock::now() < deadline) {
    // Caught up: B has acknowledged everything A's journal holds durably.
    auto s = l.entry->status();
    std::optional<std::uint64_t> lag;
    if (s.is_object() && s.contains("journal") && s.contains("destinations"))
      for (const auto& d : s["destinations"])
        if (d.value("name", "") == l.peer->name) {
          auto durable = s["journal"].value("durable_seq", std::uint64_t{0});
          auto acked = d.value("acked", std::uint64_t{0});
          lag = durable > acked ? durable - acked : 0;
        }
    if (first && lag) l.max_lag_after_slice = std::max(l.max_lag_after_slice, *lag);
    first = false;
    if (lag && *lag == 0) {
      l.catch_up_secs += std::chrono::duration<double>(bench_clock::now() - t0).count();
      return;
    }
    std::this_thread::sleep_for(5ms);
  }
  throw bench_error(l.label + ": async destination did not catch up within 120 s");
}

// Publishes for `seconds` (window-limited), then waits for every ack; the drain is timed too.
void run_slice(load& l, double seconds, const std::string& payload) {
  const auto e0 = cpu_ticks(l.entry->pid);
  const auto p0 = l.peer ? cpu_ticks(l.peer->pid) : 0;
  const auto c0 = process_cpu_seconds();
  const auto start = bench_clock::now();
  const auto deadline = start + std::chrono::duration_cast<bench_clock::duration>(std::chrono::duration<double>(seconds));
  while (bench_clock::now() < deadline)
    if (!l.pub->publish("bench/topic", payload, 10000ms)) throw bench_error(l.label + ": publish: " + l.pub->error());
  if (!l.pub->wait_all(30000ms)) throw bench_error(l.label + ": wait_all: " + l.pub->error());
  l.secs += std::chrono::duration<double>(bench_clock::now() - start).count();
  l.cpu_client += process_cpu_seconds() - c0;
  l.cpu_entry += ticks_to_seconds(cpu_ticks(l.entry->pid) - e0);
  if (l.peer) l.cpu_peer += ticks_to_seconds(cpu_ticks(l.peer->pid) - p0);
  if (l.pub->counters().negative > 0)
    throw bench_error(l.label + ": " + std::to_string(l.pub->counters().negative) + " negative acks");
  if (l.async_peer) wait_caught_up(l);
}

// `slices` slices of every load in turn; the order is reversed every other slice, so that no
// setting always runs right after the same other one.
void run_alternating(std::vector<load>& loads, int slices, const std::string& payload) {
  for (int i = 0; i < slices; ++i) {
    if (i % 2 == 0)
      for (auto& l : loads) run_slice(l, slice_seconds, payload);
    else
      for (auto it = loads.rbegin(); it != loads.rend(); ++it) run_slice(*it, slice_seconds, payload);
  }
}

void print_table_header() {
  std::printf("%-11s %7s %10s %8s %9s %9s %6s %8s | %5s %5s %5s\n", "target", "window", "msg/s", "MB/s", "p50 us",
              "p99 us", ">1ms%", "rec/sync", "cpuE", "cpuP", "cpuC");
}

struct figures {
  double msgs_per_s = 0, mb_per_s = 0, p50_us = 0, p99_us = 0, records_per_sync = 0;
  double over_1ms_pct = 0; // messages acked more than 1 ms after their send, in percent (percent_above)
};

std::string fixed2(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

figures summarize(load& l) {
  const auto& c = l.pub->counters();
  figures f;
  f.msgs_per_s = static_cast<double>(c.persisted) / l.secs;
  f.mb_per_s = f.msgs_per_s * payload_bytes / 1e6;
  f.p50_us = std::chrono::duration<double, std::micro>(client::percentile(c.ack_latencies, 50)).count();
  f.p99_us = std::chrono::duration<double, std::micro>(client::percentile(c.ack_latencies, 99)).count();
  std::vector<double> us;
  us.reserve(c.ack_latencies.size());
  for (auto d : c.ack_latencies) us.push_back(std::chrono::duration<double, std::micro>(d).count());
  f.over_1ms_pct = percent_above(us, 1000);
  auto after = l.entry->status()["journal"]["committer"];
  if (after.is_object() && l.committer_before.is_object()) {
    auto rec = after.value("records", 0.0) - l.committer_before.value("records", 0.0);
    auto syncs = after.value("syncs", 0.0) - l.committer_before.value("syncs", 0.0);
    f.records_per_sync = syncs > 0 ? rec / syncs : 0;
  }
  return f;
}

// Prints a target's row and records it as the phase `phase`.
void report_row(json_report& rep, const std::string& phase, const load& l, std::size_t window, const figures& f) {
  // >1ms% only at window 1: deeper windows queue behind each other, so every latency is above 1 ms.
  const std::string over = window == 1 ? fixed2(f.over_1ms_pct) : "-";
  std::printf("%-11s %7zu %10.0f %8.2f %9.0f %9.0f %6s %8.1f | %5.2f %5.2f %5.2f", l.label.c_str(), window,
              f.msgs_per_s, f.mb_per_s, f.p50_us, f.p99_us, over.c_str(), f.records_per_sync, l.cpu_entry / l.secs,
              l.peer ? l.cpu_peer / l.secs : 0.0, l.cpu_client / l.secs);
  if (l.async_peer)
    std::printf("  (B lag at slice end <= %llu records, caught up in %.2f s total)",
                static_cast<unsigned long long>(l.max_lag_after_slice), l.catch_up_secs);
  std::printf("\n");
  json_report::json j = {{"setup", l.label},
                         {"window", window},
                         {"msg_per_s", f.msgs_per_s},
                         {"mb_per_s", f.mb_per_s},
                         {"p50_us", f.p50_us},
                         {"p99_us", f.p99_us},
                         {"over_1ms_pct", f.over_1ms_pct},
                         {"records_per_sync", f.records_per_sync},
                         {"cpu_entry_cores", l.cpu_entry / l.secs},
                         {"cpu_peer_cores", l.peer ? l.cpu_peer / l.secs : 0.0},
                         {"cpu_client_cores", l.cpu_client / l.secs}};
  if (l.async_peer) {
    j["peer_lag_at_slice_end_max_records"] = l.max_lag_after_slice;
    j["peer_catch_up_s"] = l.catch_up_secs;
  }
  rep.phase(phase, j);
}

// ---- metrics cost -----------------------------------------------------------------------------

struct metrics_cost_result {
  std::map<std::string, figures> by_label; // "sync-on", "sync-off", "async-on", "async-off"
  std::map<std::string, double> cpu_per_msg_us; // entry + peer CPU per message
};

metrics_cost_result run_metrics_cost(const args& a, const std::string& root, const std::string& payload,
                                     const std::string& run_tag, json_report& rep) {
  auto metrics_off = [](nlohmann::json& c) { c["metrics"] = {{"enabled", false}}; };
  node son{"A", root + "/m-sync-on-A"}, sonb{"B", root + "/m-sync-on-B"};
  node soff{"A", root + "/m-sync-off-A"}, soffb{"B", root + "/m-sync-off-B"};
  node aon{"A", root + "/m-async-on-A"}, aonb{"B", root + "/m-async-on-B"};
  node aoff{"A", root + "/m-async-off-A"}, aoffb{"B", root + "/m-async-off-B"};
  start_pair(a, son, sonb, "sync");
  start_pair(a, soff, soffb, "sync", metrics_off);
  start_pair(a, aon, aonb, "async");
  start_pair(a, aoff, aoffb, "async", metrics_off);
  std::vector<load> loads(4);
  const std::pair<const char*, std::pair<node*, node*>> setup[] = {
    {"sync-on", {&son, &sonb}}, {"sync-off", {&soff, &soffb}}, {"async-on", {&aon, &aonb}}, {"async-off", {&aoff, &aoffb}}};
  for (std::size_t i = 0; i < loads.size(); ++i) {
    loads[i].label = setup[i].first;
    loads[i].entry = setup[i].second.first;
    loads[i].peer = setup[i].second.second;
    loads[i].async_peer = loads[i].label.rfind("async", 0) == 0;
    loads[i].open("rbench-" + run_tag + "-" + loads[i].label, 1024);
  }
  const int slices = std::max(1, static_cast<int>(a.seconds / slice_seconds + 0.5));
  run_alternating(loads, slices, payload);
  metrics_cost_result r;
  std::printf("\nmetrics cost (window 1024, %d slices of %.1f s each, order alternating):\n", slices, slice_seconds);
  for (auto& l : loads) {
    auto f = summarize(l);
    r.by_label[l.label] = f;
    r.cpu_per_msg_us[l.label] = (l.cpu_entry + l.cpu_peer) / static_cast<double>(l.pub->counters().persisted) * 1e6;
    report_row(rep, "metrics-cost-" + l.label, l, 1024, f);
    l.conn->close();
  }
  json_report::json cpu = json_report::json::object(); // by setup
  for (const auto& [label, us] : r.cpu_per_msg_us) {
    std::printf("  %-9s node CPU per message (entry + peer): %.1f us\n", label.c_str(), us);
    cpu[label] = us;
  }
  rep.phase("metrics-cost-cpu", {{"node_cpu_per_msg_us", cpu}});
  for (node* n : {&son, &sonb, &soff, &soffb, &aon, &aonb, &aoff, &aoffb}) stop_node(*n);
  return r;
}

void report_metrics_cost_targets(const metrics_cost_result& m, json_report& rep) {
  for (const char* kind : {"sync", "async"}) {
    const double on = m.by_label.at(std::string{kind} + "-on").msgs_per_s;
    const double off = m.by_label.at(std::string{kind} + "-off").msgs_per_s;
    const double diff = (off - on) / off;
    const char* v = rep.target(std::string{kind} + " 1024-outstanding throughput with metrics on within 5% of off "
                                                   "(value: % slower than off)",
                               diff <= 0.05, 100 * diff, 5, "pct", {{"on_msg_per_s", on}, {"off_msg_per_s", off}});
    std::printf("  %s %s 1024-outstanding throughput with metrics on within 5%% of off: %+.1f%% (%.0f vs %.0f msg/s)\n",
                v, kind, -100 * diff, on, off);
  }
}

// ---- TLS cost (issue 18) ----------------------------------------------------------------------

// Whether the CPU advertises AES-NI (the "aes" flag of /proc/cpuinfo), which OpenSSL's AES-GCM uses.
bool cpu_has_aes_ni() {
  std::ifstream f("/proc/cpuinfo");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line.substr(line.find(':') + 1));
      for (std::string w; words >> w;)
        if (w == "aes") return true;
      return false;
    }
  return false;
}

struct tls_cost_result {
  std::map<std::string, std::map<std::size_t, figures>> by_label; // ["plain"|"tls"][window]
  std::map<std::string, std::map<std::size_t, double>> cpu_per_msg_us; // entry + peer CPU per message
  std::string tls_version;                                             // of the TLS pair's links
};

// The replication connections of `n`'s /status: throws unless there is at least one and every one
// is TLS (so the TLS target cannot quietly measure plaintext); returns their TLS version.
std::string require_tls_links(const node& n) {
  auto s = n.status();
  std::string version;
  const auto conns = s.is_object() ? s.value("replication_connections", nlohmann::json::array()) : nlohmann::json::array();
  if (conns.empty()) throw bench_error("tls-cost: node " + n.name + " lists no replication connection");
  for (const auto& c : conns) {
    if (!c.value("tls", false)) throw bench_error("tls-cost: node " + n.name + " has a plaintext replication link");
    version = c.value("tls_version", "");
  }
  return version;
}

tls_cost_result run_tls_cost(const args& a, const std::string& root, const std::string& payload,
                             const std::string& run_tag, json_report& rep) {
  const std::string cert_dir = root + "/certs";
  std::filesystem::create_directories(cert_dir);
  test::cert_authority ca(cert_dir, "bench");
  const auto cert_a = ca.issue("A", {"tandem:instance/A"}), cert_b = ca.issue("B", {"tandem:instance/B"});
  auto with_tls = [&ca](const test::cert_files& cf) {
    return [&ca, cf](nlohmann::json& c) {
      c["tls"] = {{"cert_file", cf.cert_file}, {"key_file", cf.key_file}, {"ca_file", ca.ca_file()}};
      c["replication"]["tls"] = true;
      for (auto& d : c["destinations"]) d["tls"] = true;
    };
  };
  node pa{"A", root + "/tls-cost-plain-A"}, pb{"B", root + "/tls-cost-plain-B"};
  node ta{"A", root + "/tls-cost-tls-A"}, tb{"B", root + "/tls-cost-tls-B"};
  start_pair(a, pa, pb, "sync");
  start_node(a, ta, {{"B", "sync", "127.0.0.1:" + std::to_string(tb.replication)}}, with_tls(cert_a));
  start_node(a, tb, {{"A", "sync", "127.0.0.1:" + std::to_string(ta.replication)}}, with_tls(cert_b));
  wait_connected(ta, "B", 15s);
  wait_connected(tb, "A", 15s);
  tls_cost_result r;
  r.tls_version = require_tls_links(ta);
  require_tls_links(tb);

  const int slices = std::max(1, static_cast<int>(a.seconds / slice_seconds + 0.5));
  std::printf("\nTLS cost: plaintext sync pair vs mutual-TLS sync pair (%s), %d slices of %.1f s per window, "
              "order alternating:\n",
              r.tls_version.c_str(), slices, slice_seconds);
  print_table_header();
  for (std::size_t window : {std::size_t{1}, std::size_t{1024}}) {
    std::vector<load> loads(2);
    for (auto [l, label, entry, peer] : {std::tuple{&loads[0], "plain", &pa, &pb}, std::tuple{&loads[1], "tls", &ta, &tb}}) {
      l->label = label;
      l->entry = entry;
      l->peer = peer;
    }
    for (auto& l : loads) l.open("rbench-" + run_tag + "-tls-cost-" + l.label + "-w" + std::to_string(window), window);
    run_alternating(loads, slices, payload);
    for (auto& l : loads) {
      auto f = summarize(l);
      r.by_label[l.label][window] = f;
      r.cpu_per_msg_us[l.label][window] =
        (l.cpu_entry + l.cpu_peer) / static_cast<double>(l.pub->counters().persisted) * 1e6;
      report_row(rep, "tls-cost-" + l.label + "-w" + std::to_string(window), l, window, f);
      l.conn->close();
    }
    std::fflush(stdout);
  }
  json_report::json cpu = json_report::json::object();
  for (const auto& [label, by_window] : r.cpu_per_msg_us)
    for (const auto& [window, us] : by_window) {
      std::printf("  %-5s window %4zu: node CPU per message (both tandemd) %.1f us\n", label.c_str(), window, us);
      cpu[label + "-w" + std::to_string(window)] = us;
    }
  rep.phase("tls-cost-cpu", {{"node_cpu_per_msg_us", cpu}, {"tls_version", r.tls_version}});
  require_tls_links(ta); // still TLS at the end (no reconnect fell back to anything else)
  for (node* n : {&pa, &pb, &ta, &tb}) stop_node(*n);
  return r;
}

void report_tls_cost_targets(const tls_cost_result& t, json_report& rep) {
  const auto& p1 = t.by_label.at("plain").at(1);
  const auto& t1 = t.by_label.at("tls").at(1);
  const auto& p1024 = t.by_label.at("plain").at(1024);
  const auto& t1024 = t.by_label.at("tls").at(1024);
  const double cpu_ratio_1024 = t.cpu_per_msg_us.at("tls").at(1024) / t.cpu_per_msg_us.at("plain").at(1024);
  const double cpu_ratio_1 = t.cpu_per_msg_us.at("tls").at(1) / t.cpu_per_msg_us.at("plain").at(1);
  const double rate = t1024.msgs_per_s / p1024.msgs_per_s;
  std::printf("  %s TLS sync pipelined (1024 outstanding) >= 80%% of plaintext: %.0f%% (%.0f vs %.0f msg/s; "
              "node CPU per message %.2fx)\n",
              rep.target("TLS sync 1024-outstanding throughput >= 80% of plaintext sync", rate >= 0.8, rate, 0.8, "ratio",
                         {{"tls_msg_per_s", t1024.msgs_per_s},
                          {"plain_msg_per_s", p1024.msgs_per_s},
                          {"tls_cpu_per_msg_us", t.cpu_per_msg_us.at("tls").at(1024)},
                          {"plain_cpu_per_msg_us", t.cpu_per_msg_us.at("plain").at(1024)}}),
              100 * rate, t1024.msgs_per_s, p1024.msgs_per_s, cpu_ratio_1024);
  const double p50 = t1.p50_us / p1.p50_us;
  std::printf("  %s TLS sync window-1 p50 <= 1.15x plaintext: %.2fx (%.0f vs %.0f us; p99 %.0f vs %.0f us; "
              "node CPU per message %.2fx)\n",
              rep.target("TLS sync 1-outstanding p50 <= 1.15x plaintext sync", p50 <= 1.15, p50, 1.15, "ratio",
                         {{"tls_p50_us", t1.p50_us},
                          {"plain_p50_us", p1.p50_us},
                          {"tls_p99_us", t1.p99_us},
                          {"plain_p99_us", p1.p99_us},
                          {"tls_cpu_per_msg_us", t.cpu_per_msg_us.at("tls").at(1)},
                          {"plain_cpu_per_msg_us", t.cpu_per_msg_us.at("plain").at(1)}}),
              p50, t1.p50_us, p1.p50_us, t1.p99_us, p1.p99_us, cpu_ratio_1);
}

// ---- failover ---------------------------------------------------------------------------------

struct failover_times {
  std::vector<double> resume_ms, caught_up_ms; // per kill
};

struct failover_result {
  failover_times to_second, to_first; // B1 killed (A moves to B2) / B2 killed (A moves to B1)
  std::uint64_t published = 0;
};

std::uint64_t link_acked(const nlohmann::json& d) { return d.is_object() ? d.value("acked", std::uint64_t{0}) : 0; }

// Records a node's journal holds, from its /status (nothing removed by retention in this phase:
// min age 7 days). Seqs of different nodes cannot be compared: each journal numbers from its own
// base (docs/journal-format.md), so the counts are compared instead.
std::uint64_t records_held(const nlohmann::json& status) {
  if (!status.is_object() || !status.contains("journal")) return 0;
  const auto& j = status["journal"];
  const auto durable = j.value("durable_seq", std::uint64_t{0}), base = j.value("base_seq", std::uint64_t{0});
  return durable >= base ? durable - base + 1 : 0;
}

// The replication address a destination names to reach `n`.
std::string replication_address(const node& n) { return "127.0.0.1:" + std::to_string(n.replication); }

// One kill: SIGKILLs `current` (A's server now) and records, into `times`, how long A took to
// resume on `other` and until `other` durably held everything A held at the kill.
void measure_one_failover(node& fa, node& current, node& other, failover_times& times) {
  const auto held = records_held(fa.status());
  const auto t0 = bench_clock::now();
  ::kill(current.pid, SIGKILL);
  const auto deadline = t0 + 30s;
  std::optional<double> resumed;
  for (;;) {
    // Caught up is read from the new server itself: A's `acked` is monotonic coverage and
    // does not drop when the new server resumes from less than the old one held. The
    // servers hold nothing but A's records, once each, so their record count is A's.
    const double ms = std::chrono::duration<double, std::milli>(bench_clock::now() - t0).count();
    if (!resumed) {
      auto s = fa.destination("B");
      if (s.is_object() && s.value("connected", false) && s.value("peer_address", "") == replication_address(other))
        resumed = ms;
    }
    auto os = resumed ? other.status() : nlohmann::json{};
    if (records_held(os) >= held) {
      times.resume_ms.push_back(*resumed);
      times.caught_up_ms.push_back(ms);
      return;
    }
    if (bench_clock::now() > deadline) throw bench_error("failover: A did not move within 30 s:\n" + fa.log_tail());
    std::this_thread::sleep_for(1ms);
  }
}

failover_result run_failover(const args& a, const std::string& root) {
  node b1{"B", root + "/failover-B1"}, b2{"B", root + "/failover-B2"}, fa{"A", root + "/failover-A"};
  start_node(a, b1, {});
  start_node(a, b2, {});
  start_node(a, fa, {{"B", "async", replication_address(b1), false}}, [&](nlohmann::json& c) {
    auto& d = c["destinations"][0];
    d["addresses"].push_back(replication_address(b2));
    d["reconnect"] = {{"initial_ms", 100}, {"max_ms", 1000}, {"connect_timeout_ms", 1000}};
  });
  wait_connected(fa, "B", 15s);

  std::atomic<bool> stop{false};
  std::string pub_error;
  std::uint64_t published = 0;
  std::thread publisher([&] {
    client::client_connection c;
    if (auto err = c.connect("127.0.0.1", fa.client, "replication_bench", 5000ms); !err.empty()) {
      pub_error = "connect: " + err;
      return;
    }
    client::publisher p(c, {"rbench-failover-" + std::to_string(::getpid()), 16});
    const std::string payload(payload_bytes, 'x');
    while (!stop) {
      if (!p.publish("bench/topic", payload, 10000ms)) {
        pub_error = "publish: " + p.error();
        break;
      }
      std::this_thread::sleep_for(500us);
    }
    if (!p.wait_all(30000ms) && pub_error.empty()) pub_error = "wait_all: " + p.error();
    published = p.counters().persisted;
  });
  failover_result out;
  auto finish = [&] {
    stop = true;
    publisher.join();
  };
  try {
    node* current = &b1;
    node* other = &b2;
    for (int trial = 0; trial < a.failover_trials; ++trial) {
      // Let A replicate for a while to the current server first.
      const auto from = link_acked(fa.destination("B"));
      const auto warm = bench_clock::now() + 30s;
      while (link_acked(fa.destination("B")) < from + 1000) {
        if (bench_clock::now() > warm) throw bench_error("failover: no progress before a kill:\n" + fa.log_tail());
        std::this_thread::sleep_for(5ms);
      }
      measure_one_failover(fa, *current, *other, current == &b1 ? out.to_second : out.to_first);
      stop_node(*current); // reaps the killed process
      start_node(a, *current, {});
      std::swap(current, other);
    }
  } catch (...) {
    finish();
    throw;
  }
  finish();
  if (!pub_error.empty()) throw bench_error("failover: " + pub_error);
  out.published = published;
  for (node* n : {&fa, &b1, &b2}) stop_node(*n);
  return out;
}

// Prints one direction's failover times and records them as the phase `phase`.
void report_failover(json_report& rep, const std::string& phase, const char* label, const failover_times& t) {
  if (t.resume_ms.empty()) return;
  std::printf("  %s: resume ack after %.1f ms median (min %.1f, max %.1f); caught up after %.1f ms median "
              "(min %.1f, max %.1f); %zu kills\n",
              label, percentile_of(t.resume_ms, 50), *std::min_element(t.resume_ms.begin(), t.resume_ms.end()),
              *std::max_element(t.resume_ms.begin(), t.resume_ms.end()), percentile_of(t.caught_up_ms, 50),
              *std::min_element(t.caught_up_ms.begin(), t.caught_up_ms.end()),
              *std::max_element(t.caught_up_ms.begin(), t.caught_up_ms.end()), t.resume_ms.size());
  rep.phase(phase, {{"kills", t.resume_ms.size()},
                    {"resume_ms_median", percentile_of(t.resume_ms, 50)},
                    {"resume_ms_min", *std::min_element(t.resume_ms.begin(), t.resume_ms.end())},
                    {"resume_ms_max", *std::max_element(t.resume_ms.begin(), t.resume_ms.end())},
                    {"caught_up_ms_median", percentile_of(t.caught_up_ms, 50)},
                    {"caught_up_ms_min", *std::min_element(t.caught_up_ms.begin(), t.caught_up_ms.end())},
                    {"caught_up_ms_max", *std::max_element(t.caught_up_ms.begin(), t.caught_up_ms.end())},
                    {"resume_ms", t.resume_ms},
                    {"caught_up_ms", t.caught_up_ms}});
}


// ---- references: Redis and the floor (issue 19) --------------------------------------------------

// One row of a reference target (not Tandem) in phases 1-3's table and the JSON: `cpu_p` and `cpu_r`
// are the primary's and replica's CPU seconds over `seconds`.
figures reference_row(json_report& rep, const std::string& label, std::size_t window, std::uint64_t messages,
                      double seconds, const std::vector<double>& latencies_us, double cpu_p, double cpu_r,
                      const std::string& how, const nlohmann::json& extra) {
  figures f;
  f.msgs_per_s = static_cast<double>(messages) / seconds;
  f.mb_per_s = f.msgs_per_s * payload_bytes / 1e6;
  f.p50_us = percentile_of(latencies_us, 50);
  f.p99_us = percentile_of(latencies_us, 99);
  f.over_1ms_pct = percent_above(latencies_us, 1000);
  const double cp = cpu_p / seconds, cr = cpu_r / seconds;
  const std::string over = window == 1 ? fixed2(f.over_1ms_pct) : "-"; // as report_row
  std::printf("%-7s %7zu %10.0f %8.2f %9.0f %9.0f %6s %8s | %5.2f %5.2f %5s  (%s)\n", label.c_str(), window,
              f.msgs_per_s, f.mb_per_s, f.p50_us, f.p99_us, over.c_str(), "-", cp, cr, "-", how.c_str());
  nlohmann::json row{{"setup", label},          {"window", window},   {"msg_per_s", f.msgs_per_s},
                     {"p50_us", f.p50_us},       {"p99_us", f.p99_us}, {"over_1ms_pct", f.over_1ms_pct},
                     {"cpu_primary_cores", cp},  {"cpu_replica_cores", cr}};
  row.update(extra);
  rep.phase(label + "-w" + std::to_string(window), row);
  return f;
}

// The floor (bench/peers/floor_pair.hpp): floor_node as a primary with a replica ("floor") and as a
// lone primary ("floor1"), in the same slices, at the same windows as Tandem (1 and 1024
// outstanding). Its pair-to-single ratios are the best issue 19's ratio targets can be on this
// host with both fdatasyncs kept. "floorT" and "floorT1": the same with each process's writes and
// fdatasyncs on a second thread (two hand-offs per node, Tandem's shape). --no-floor: left out.
class floor_target {
public:
  floor_target(const args& a, const std::string& root) {
    if (!a.floor) return;
    const std::string bin = TANDEM_BINARY_DIR "/bench/floor_node";
    for (const bool threaded : {false, true})
      for (const bool replica : {true, false}) {
        const std::string label = std::string{threaded ? "floorT" : "floor"} + (replica ? "" : "1");
        peers_.push_back({label, replica, threaded,
                          std::make_unique<floor_peer>(bin, root + "/" + label, replica, threaded)});
      }
  }
  void open(std::size_t window) {
    for (auto& p : peers_) p.peer->open(window);
  }
  void slice(const std::string& payload) {
    for (auto& p : peers_) p.peer->run_slice(slice_seconds, payload);
  }
  std::map<std::string, figures> report(json_report& rep, std::size_t window) {
    std::map<std::string, figures> out;
    for (auto& p : peers_) {
      const auto run = p.peer->close();
      const std::string how = std::string{p.replica ? "floor_node pair" : "floor_node alone"} +
                              (p.threaded ? ", disk on its own thread" : "") + ", " + std::to_string(run.window) +
                              " outstanding";
      out[p.label] = reference_row(rep, p.label, window, run.messages, run.seconds, run.latencies_us,
                                   run.cpu_primary_s, run.cpu_replica_s, how,
                                   {{"replica", p.replica}, {"threaded", p.threaded}});
    }
    return out;
  }

private:
  struct one {
    std::string label;
    bool replica, threaded;
    std::unique_ptr<floor_peer> peer;
  };
  std::vector<one> peers_;
};

// ---- the Redis peer (issue 19) -----------------------------------------------------------------

// Redis primary + replica (both fsync always) as a fourth target of phases 1-3, in the same slices:
// window 1 is XADD + WAIT 1 per message, window 1024 is 100 XADD + one WAIT (bench/peers/). With
// it, a lone Redis primary (fsync always, no replica: each XADD answered once fsynced), target
// "redis1": the reference for issue 19's ratio targets (sync pair against single node), whose
// ratios on this host it shows for a well-known design. When libhiredis-dev was missing at build
// time or redis-server is not installed, why() says so and both are left out.
class redis_target {
public:
  redis_target(const args& a, const std::string& root) {
    if (!a.redis) {
      why_ = "left out (--no-redis)";
      return;
    }
    peer_ = make_redis_peer(root + "/redis", why_);
    if (peer_) {
      redis_route lone;
      lone.replica = false;
      single_ = make_redis_peer(root + "/redis1", why_, [lone](std::uint16_t) { return lone; });
    }
  }
  const std::string& why() const { return why_; }
  void open(std::size_t window) {
    for (auto* p : {peer_.get(), single_.get()})
      if (p) p->open(window == 1 ? 1 : 100);
  }
  void slice(const std::string& payload) {
    for (auto* p : {peer_.get(), single_.get()})
      if (p) p->run_slice(slice_seconds, payload);
  }
  // Their rows in the table, as targets "redis" and "redis1"; empty when left out.
  std::map<std::string, figures> report(json_report& rep, std::size_t window) {
    std::map<std::string, figures> out;
    if (peer_) out["redis"] = report_one(rep, *peer_, "redis", window, true);
    if (single_) out["redis1"] = report_one(rep, *single_, "redis1", window, false);
    return out;
  }

private:
  static figures report_one(json_report& rep, redis_peer& peer, const std::string& label, std::size_t window,
                            bool replica) {
    const auto run = peer.close();
    const std::string how = replica ? std::to_string(run.per_wait) + " XADD per WAIT 1"
                                    : std::to_string(run.per_wait) + " XADD, no replica";
    return reference_row(rep, label, window, run.messages, run.seconds, run.latencies_us, run.cpu_primary_s,
                         run.cpu_replica_s, how, {{"xadd_per_wait", run.per_wait}, {"replica", replica}});
  }

  std::string why_;
  std::unique_ptr<redis_peer> peer_, single_;
};

// ---- phases -----------------------------------------------------------------------------------

struct throughput_result {
  std::map<std::string, std::map<std::size_t, figures>> by_target; // [target][window]
  std::uint64_t single_messages = 0;                              // published to the single node
  std::uint64_t single_rss0 = 0, single_rss1 = 0;                 // its RSS (KiB) before and after
  double raw_p50 = 0, busy_p50 = 0;                               // raw fdatasync baselines (us)
  double raw_over_1ms_pct = 0;                                    // of the raw fdatasyncs, above 1 ms
};

// --baseline: that build's single node and sync pair, started when one was given.
bool start_baseline(const args& a, node& single, node& pa, node& pb) {
  if (a.baseline.empty()) return false;
  args other = a;
  other.tandemd = a.baseline;
  start_node(other, single, {});
  start_pair(other, pa, pb, "sync");
  return true;
}

// Phases 1-3: single node, sync pair, async pair, side by side, at windows 1 and 1024.
throughput_result run_throughput(const args& a, const std::string& root, const std::string& payload,
                                 const std::string& run_tag, json_report& rep) {
  throughput_result out;
  auto& result = out.by_target;
  node single{"S", root + "/single"};
  node sa{"A", root + "/sync-A"}, sb{"B", root + "/sync-B"};
  node aa{"A", root + "/async-A"}, ab{"B", root + "/async-B"};
  node ea{"A", root + "/late-A"}, eb{"B", root + "/late-B"};
  start_node(a, single, {});
  start_pair(a, sa, sb, "sync");
  start_pair(a, aa, ab, "async");
  start_pair(a, ea, eb, "sync", [](nlohmann::json& c) { c["journal"]["send_before_durable"] = false; });
  // Another build's single node and sync pair (--baseline: before/after a change within this run).
  node bs{"S", root + "/base-single"}, ba{"A", root + "/base-sync-A"}, bb{"B", root + "/base-sync-B"};
  const bool with_base = start_baseline(a, bs, ba, bb);
  if (with_base)
    std::printf("single-base, sync-base: a single node and a sync pair of %s\n", a.baseline.c_str());
  out.single_rss0 = rss_kib(single.pid);
  // Two raw baselines: the loop alone, and the loop while another thread keeps a core busy. On
  // this class of VM an fdatasync issued from an otherwise idle machine often takes a full 4 ms
  // timer tick, while the same call returns in ~0.2 ms when a CPU is busy (as in a loaded node).
  raw_sync_loop raw(root), raw_busy(root, "raw-fdatasync-busy.dat");
  redis_target redis(a, root);
  if (!redis.why().empty()) std::printf("redis peer: %s\n", redis.why().c_str());
  floor_target floor(a, root);

  print_table_header();
  for (std::size_t window : {std::size_t{1}, std::size_t{1024}}) {
    std::vector<load> loads;
    loads.push_back(load_on("single", &single));
    loads.push_back(load_on("sync", &sa, &sb));
    loads.push_back(load_on("async", &aa, &ab, true));
    loads.push_back(load_on("late", &ea, &eb));
    if (with_base) {
      loads.push_back(load_on("single-base", &bs));
      loads.push_back(load_on("sync-base", &ba, &bb));
    }
    for (auto& l : loads) l.open("rbench-" + run_tag + "-" + l.label + "-w" + std::to_string(window), window);
    redis.open(window);
    floor.open(window);
    const int slices = std::max(1, static_cast<int>(a.seconds / slice_seconds + 0.5));
    for (int i = 0; i < slices; ++i) {
      if (window == 1) {
        raw.run_for(slice_seconds, payload_bytes);
        std::atomic<bool> spin{true};
        std::thread spinner([&] {
          while (spin.load(std::memory_order_relaxed)) {
          }
        });
        raw_busy.run_for(slice_seconds, payload_bytes);
        spin = false;
        spinner.join();
      }
      for (auto& l : loads) run_slice(l, slice_seconds, payload);
      redis.slice(payload);
      floor.slice(payload);
    }
    for (auto& l : loads) {
      auto f = summarize(l);
      result[l.label][window] = f;
      report_row(rep, l.label + "-w" + std::to_string(window), l, window, f);
      if (l.label == "single") out.single_messages += l.pub->counters().persisted;
      l.conn->close();
    }
    for (const auto& [label, f] : redis.report(rep, window)) result[label][window] = f;
    for (const auto& [label, f] : floor.report(rep, window)) result[label][window] = f;
    std::fflush(stdout);
  }
  auto print_raw = [&rep](const char* label, const std::vector<double>& rl, const char* what) {
    const double per_s =
      rl.empty() ? 0.0 : 1e6 / (std::accumulate(rl.begin(), rl.end(), 0.0) / static_cast<double>(rl.size()));
    std::printf("%-7s %7d %10.0f %8.2f %9.0f %9.0f %6.2f   (%s)\n", label, 1, per_s, 0.0, percentile_of(rl, 50),
                percentile_of(rl, 99), percent_above(rl, 1000), what);
    rep.phase(label, {{"what", what},
                      {"writes_per_s", per_s},
                      {"p50_us", percentile_of(rl, 50)},
                      {"p99_us", percentile_of(rl, 99)},
                      {"over_1ms_pct", percent_above(rl, 1000)},
                      {"samples", rl.size()}});
  };
  print_raw("raw", raw.latencies_us(), "1 KiB pwrite + fdatasync, interleaved with the window-1 slices");
  print_raw("rawbusy", raw_busy.latencies_us(), "the same while a second thread spins on the other core");
  out.raw_p50 = percentile_of(raw.latencies_us(), 50);
  out.busy_p50 = percentile_of(raw_busy.latencies_us(), 50);
  out.raw_over_1ms_pct = percent_above(raw.latencies_us(), 1000);
  std::printf("(cpuE/cpuP/cpuC: cores used by the entry node, its peer and the publishing client)\n");
  out.single_rss1 = rss_kib(single.pid);
  std::vector<node*> all{&single, &sa, &sb, &aa, &ab, &ea, &eb};
  if (with_base) all.insert(all.end(), {&bs, &ba, &bb});
  stop_nodes(all);
  return out;
}

// Phase 4: a destination that is down; returns the node's RSS growth (MiB). The control line
// compares the single node of phases 1-3.
double run_down_destination(const args& a, const std::string& root, const std::string& payload,
                            const std::string& run_tag, const throughput_result& t, json_report& rep) {
  node down{"D", root + "/down"};
  start_node(a, down, {{"Z", "async", "127.0.0.1:" + std::to_string(free_port()), false}});
  std::this_thread::sleep_for(1s);
  const auto down_rss0 = rss_kib(down.pid);
  json_report::json figures;
  {
    client::client_connection c;
    if (auto err = c.connect("127.0.0.1", down.client, "replication_bench", 5000ms); !err.empty())
      throw bench_error("down: connect: " + err);
    client::publisher p(c, {"rbench-" + run_tag + "-down", 1024});
    const auto t0 = bench_clock::now();
    for (std::uint64_t i = 0; i < a.down_messages; ++i)
      if (!p.publish("bench/topic", payload, 10000ms)) throw bench_error("down: publish: " + p.error());
    if (!p.wait_all(60000ms)) throw bench_error("down: wait_all: " + p.error());
    const double secs = std::chrono::duration<double>(bench_clock::now() - t0).count();
    if (p.counters().negative > 0) throw bench_error("down: negative acks");
    std::printf("\ndown destination: %llu messages in %.1f s (%.0f msg/s)",
                static_cast<unsigned long long>(p.counters().persisted), secs,
                static_cast<double>(p.counters().persisted) / secs);
    figures = {{"messages", p.counters().persisted},
               {"publish_s", secs},
               {"msg_per_s", static_cast<double>(p.counters().persisted) / secs}};
    c.close();
  }
  std::this_thread::sleep_for(1s);
  const auto down_rss1 = rss_kib(down.pid);
  auto dz = down.destination("Z");
  std::printf("; destination Z connected=%s lag_records=%llu\n", dz.value("connected", false) ? "true" : "false",
              static_cast<unsigned long long>(dz.value("lag_records", std::uint64_t{0})));
  const double growth_mib = (static_cast<double>(down_rss1) - static_cast<double>(down_rss0)) / 1024;
  const double control_growth_mib = (static_cast<double>(t.single_rss1) - static_cast<double>(t.single_rss0)) / 1024;
  std::printf("  RSS %.1f MiB -> %.1f MiB: growth %.1f MiB\n", down_rss0 / 1024.0, down_rss1 / 1024.0, growth_mib);
  std::printf("  control (node without destinations, %llu messages in phases 1-3): RSS %.1f MiB -> %.1f MiB: "
              "growth %.1f MiB\n",
              static_cast<unsigned long long>(t.single_messages), t.single_rss0 / 1024.0, t.single_rss1 / 1024.0,
              control_growth_mib);
  figures.update({{"destination_connected", dz.value("connected", false)},
                  {"destination_lag_records", dz.value("lag_records", std::uint64_t{0})},
                  {"rss_before_mib", down_rss0 / 1024.0},
                  {"rss_after_mib", down_rss1 / 1024.0},
                  {"rss_growth_mib", growth_mib},
                  {"control_messages", t.single_messages},
                  {"control_rss_before_mib", t.single_rss0 / 1024.0},
                  {"control_rss_after_mib", t.single_rss1 / 1024.0},
                  {"control_rss_growth_mib", control_growth_mib}});
  rep.phase("down-destination", figures);
  stop_node(down);

  return growth_mib;
}

// Phase 5: an idle sync pair; returns each node's CPU (% of one core).
std::pair<double, double> run_idle_pair(const args& a, const std::string& root, json_report& rep) {
  node ia{"A", root + "/idle-A"}, ib{"B", root + "/idle-B"};
  start_pair(a, ia, ib, "sync");
  std::this_thread::sleep_for(1s);
  const auto ta0 = cpu_ticks(ia.pid), tb0 = cpu_ticks(ib.pid);
  const auto w0 = bench_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(a.idle_seconds));
  const auto ta1 = cpu_ticks(ia.pid), tb1 = cpu_ticks(ib.pid);
  const double wall = std::chrono::duration<double>(bench_clock::now() - w0).count();
  const double idle_a = 100 * ticks_to_seconds(ta1 - ta0) / wall, idle_b = 100 * ticks_to_seconds(tb1 - tb0) / wall;
  std::printf("\nidle sync pair over %.1f s: A %.2f%% CPU, B %.2f%% CPU (of one core)\n", wall, idle_a, idle_b);
  rep.phase("idle-sync-pair", {{"wall_s", wall}, {"cpu_a_pct", idle_a}, {"cpu_b_pct", idle_b}});
  stop_node(ia);
  stop_node(ib);

  return {idle_a, idle_b};
}

// Issue 19's targets against Redis (primary + replica, fsync always) in the same run.
void report_redis_targets(const throughput_result& t, json_report& rep) {
  const auto r = t.by_target.find("redis");
  if (r == t.by_target.end()) return;
  const auto& y1 = t.by_target.at("sync").at(1);
  const auto& y1024 = t.by_target.at("sync").at(1024);
  const double p50 = y1.p50_us / r->second.at(1).p50_us;
  std::printf("  %s sync 1-outstanding p50 below Redis's (XADD + WAIT 1): %.2fx (%.0f vs %.0f us)\n",
              rep.target("sync 1-outstanding p50 below Redis XADD + WAIT 1 p50 (value: Tandem / Redis)", p50 < 1, p50, 1,
                         "ratio", {{"tandem_p50_us", y1.p50_us}, {"redis_p50_us", r->second.at(1).p50_us}}),
              p50, y1.p50_us, r->second.at(1).p50_us);
  const double rate = y1024.msgs_per_s / r->second.at(1024).msgs_per_s;
  std::printf("  %s sync pipelined >= 3x Redis pipelined (100 XADD per WAIT 1): %.2fx (%.0f vs %.0f msg/s)\n",
              rep.target("sync pipelined >= 3x Redis pipelined (value: Tandem / Redis)", rate >= 3, rate, 3, "ratio",
                         {{"tandem_msg_per_s", y1024.msgs_per_s}, {"redis_msg_per_s", r->second.at(1024).msgs_per_s}}),
              rate, y1024.msgs_per_s, r->second.at(1024).msgs_per_s);
}

// Issue 19's targets on the sync pair (the defaults: journal.send_before_durable), and its ratio
// to the "late" pair of the same slices (send_before_durable false: before/after).
void report_issue19_targets(const throughput_result& t, json_report& rep) {
  const auto l = t.by_target.find("late");
  if (l == t.by_target.end()) return;
  const auto& s1 = t.by_target.at("single").at(1);
  const auto& s1024 = t.by_target.at("single").at(1024);
  const auto& y1 = t.by_target.at("sync").at(1);
  const auto& y1024 = t.by_target.at("sync").at(1024);
  const auto& l1 = l->second.at(1);
  const auto& l1024 = l->second.at(1024);
  std::printf("issue 19 (sync: the defaults, sending before durable; late: journal.send_before_durable false):\n");
  std::printf("  sync vs late at 1 outstanding: p50 %.0f vs %.0f us (%.2fx), p99 %.0f vs %.0f us (%.2fx); "
              "1024 outstanding %.0f vs %.0f msg/s\n",
              y1.p50_us, l1.p50_us, y1.p50_us / l1.p50_us, y1.p99_us, l1.p99_us, y1.p99_us / l1.p99_us,
              y1024.msgs_per_s, l1024.msgs_per_s);
  rep.phase("sync-vs-late", {{"p50_ratio", y1.p50_us / l1.p50_us},
                             {"p99_ratio", y1.p99_us / l1.p99_us},
                             {"w1024_rate_ratio", y1024.msgs_per_s / l1024.msgs_per_s}});
  const double p50 = y1.p50_us / s1.p50_us;
  std::printf("  %s sync 1-outstanding p50 <= 1.3x single node p50: %.2fx (%.0f vs %.0f us; late %.2fx)\n",
              rep.target("sync 1-outstanding p50 <= 1.3x single node p50", p50 <= 1.3, p50, 1.3, "ratio",
                         {{"sync_p50_us", y1.p50_us}, {"single_p50_us", s1.p50_us}, {"late_p50_us", l1.p50_us}}),
              p50, y1.p50_us, s1.p50_us, l1.p50_us / s1.p50_us);
  const double p99 = y1.p99_us / s1.p99_us;
  // What decides it (docs/performance.md, "What the p99 target measures"): the share of messages
  // that meet a stall of 1 ms or more, against the 1% that p99 leaves out.
  std::printf("  %s sync 1-outstanding p99 <= 2x single node p99: %.2fx (%.0f vs %.0f us; above 1 ms: %.2f%% vs "
              "%.2f%% of messages, raw fdatasync %.2f%%)\n",
              rep.target("sync 1-outstanding p99 <= 2x single node p99", p99 <= 2, p99, 2, "ratio",
                         {{"sync_over_1ms_pct", y1.over_1ms_pct},
                          {"single_over_1ms_pct", s1.over_1ms_pct},
                          {"raw_over_1ms_pct", t.raw_over_1ms_pct}}),
              p99, y1.p99_us, s1.p99_us, y1.over_1ms_pct, s1.over_1ms_pct, t.raw_over_1ms_pct);
  const double rate = y1024.msgs_per_s / s1024.msgs_per_s;
  std::printf("  %s sync 1024-outstanding throughput >= 80%% of single node: %.0f%% (late: %.0f%%)\n",
              rep.target("sync 1024-outstanding throughput >= 80% of single node", rate >= 0.8, rate, 0.8, "ratio",
                         {{"late_ratio", l1024.msgs_per_s / s1024.msgs_per_s}}),
              100 * rate, 100 * l1024.msgs_per_s / s1024.msgs_per_s);
  // The same three ratios for the references (pair against a lone primary, same slices): not
  // targets, a measure of what this host gives a well-known design (Redis) and the least any
  // design can add (the floor, floor_node), reported as phases.
  for (auto [pair, lone, what] : {std::tuple{"redis", "redis1", "Redis pair against a lone Redis primary (fsync always)"},
                                  std::tuple{"floor", "floor1", "the floor pair against the floor alone (floor_node)"},
                                  std::tuple{"floorT", "floorT1", "the same, each process's disk on a thread of its own"}}) {
    const auto rp = t.by_target.find(pair), rs = t.by_target.find(lone);
    if (rp == t.by_target.end() || rs == t.by_target.end()) continue;
    const auto &p1 = rp->second.at(1), &q1 = rs->second.at(1), &p1024 = rp->second.at(1024), &q1024 = rs->second.at(1024);
    std::printf("  reference: %s under the same rules: p50 %.2fx (%.0f vs %.0f us), p99 %.2fx (%.0f vs %.0f us; "
                "above 1 ms %.2f%% vs %.2f%%), pipelined %.0f%% (%.0f vs %.0f msg/s)\n",
                what, p1.p50_us / q1.p50_us, p1.p50_us, q1.p50_us, p1.p99_us / q1.p99_us, p1.p99_us, q1.p99_us,
                p1.over_1ms_pct, q1.over_1ms_pct, 100 * p1024.msgs_per_s / q1024.msgs_per_s, p1024.msgs_per_s,
                q1024.msgs_per_s);
    rep.phase(std::string{pair} + "-pair-vs-single", {{"p50_ratio", p1.p50_us / q1.p50_us},
                                                      {"p99_ratio", p1.p99_us / q1.p99_us},
                                                      {"pair_over_1ms_pct", p1.over_1ms_pct},
                                                      {"single_over_1ms_pct", q1.over_1ms_pct},
                                                      {"w1024_rate_ratio", p1024.msgs_per_s / q1024.msgs_per_s}});
  }
  if (t.raw_p50 > 0) {
    const double single_raw = s1.p50_us / t.raw_p50;
    std::printf("  %s single node 1-outstanding p50 <= 1.3x raw fdatasync p50: %.2fx (%.0f vs %.0f us)\n",
                rep.target("single node 1-outstanding p50 <= 1.3x raw fdatasync p50", single_raw <= 1.3, single_raw, 1.3,
                           "ratio", {{"single_p50_us", s1.p50_us}, {"raw_p50_us", t.raw_p50}}),
                single_raw, s1.p50_us, t.raw_p50);
  }
}

// The targets of docs/performance.md, each with its verdict.
void report_targets(const args& a, const throughput_result& t, double growth_mib, double idle_a, double idle_b,
                    const failover_result& fo, json_report& rep) {
  const auto& s1 = t.by_target.at("single").at(1);
  const auto& s1024 = t.by_target.at("single").at(1024);
  const auto& y1 = t.by_target.at("sync").at(1);
  const auto& y1024 = t.by_target.at("sync").at(1024);
  const auto& a1024 = t.by_target.at("async").at(1024);
  std::printf("\nload average now: %s\n", load_average().c_str());
  std::printf("targets:\n");
  const double r_sync = y1024.msgs_per_s / s1024.msgs_per_s;
  std::printf("  %s sync 1024-outstanding throughput >= 50%% of single node: %.0f%%\n",
              rep.target("sync 1024-outstanding throughput >= 50% of single node", r_sync >= 0.5, r_sync, 0.5, "ratio"),
              100 * r_sync);
  // Judged against the faster of the two raw baselines: the device's real cost, not idle wake-up.
  const double base_p50 = std::min(t.raw_p50, t.busy_p50);
  const double r_p50 = y1.p50_us / base_p50;
  const char* v = rep.target("sync 1-outstanding p50 <= 2x raw fdatasync p50", r_p50 <= 2, r_p50, 2, "ratio",
                             {{"sync_p50_us", y1.p50_us},
                              {"raw_p50_us", base_p50},
                              {"sync_p50_x_idle_raw", y1.p50_us / t.raw_p50},
                              {"sync_p50_x_busy_raw", y1.p50_us / t.busy_p50},
                              {"single_p50_x_raw", s1.p50_us / base_p50},
                              {"sync_p50_x_single", y1.p50_us / s1.p50_us}});
  std::printf("  %s sync 1-outstanding p50 <= 2x raw fdatasync p50: %.2fx (%.0f vs %.0f us; vs idle raw %.2fx, "
              "vs busy raw %.2fx; single node %.2fx, sync/single %.2fx)\n",
              v, r_p50, y1.p50_us, base_p50, y1.p50_us / t.raw_p50, y1.p50_us / t.busy_p50,
              s1.p50_us / base_p50, y1.p50_us / s1.p50_us);
  std::printf("  %s sync 1-outstanding p99 <= 1.5 ms: %.2f ms (%.2fx the target)\n",
              rep.target("sync 1-outstanding p99 <= 1.5 ms", y1.p99_us <= 1500, y1.p99_us / 1000, 1.5, "ms"),
              y1.p99_us / 1000, y1.p99_us / 1500);
  const double r_async = a1024.msgs_per_s / s1024.msgs_per_s;
  const double r_async1 = t.by_target.at("async").at(1).msgs_per_s / s1.msgs_per_s;
  std::printf("  %s async 1024-outstanding throughput >= 80%% of single node: %.0f%% (window 1: %.0f%%)\n",
              rep.target("async 1024-outstanding throughput >= 80% of single node", r_async >= 0.8, r_async, 0.8,
                         "ratio", {{"window_1_ratio", r_async1}}),
              100 * r_async, 100 * r_async1);
  std::printf("  %s RSS growth with a destination down < 64 MiB for %llu messages: %.1f MiB (%.2fx the limit)\n",
              rep.target("RSS growth with a destination down < 64 MiB", growth_mib < 64, growth_mib, 64, "MiB",
                         {{"messages", a.down_messages}}),
              static_cast<unsigned long long>(a.down_messages), growth_mib, growth_mib / 64);
  std::printf("  %s idle CPU < 1%% per node: A %.2f%%, B %.2f%%\n",
              rep.target("idle CPU < 1% per node (value: the busier node)", idle_a < 1 && idle_b < 1,
                         std::max(idle_a, idle_b), 1, "pct", {{"cpu_a_pct", idle_a}, {"cpu_b_pct", idle_b}}),
              idle_a, idle_b);
  report_redis_targets(t, rep);
  report_issue19_targets(t, rep);
  if (!fo.to_second.resume_ms.empty()) {
    // The failover test's bound: connect_timeout_ms (1000) + reconnect.initial_ms (100) + 1 s.
    const double worst = *std::max_element(fo.to_second.resume_ms.begin(), fo.to_second.resume_ms.end());
    std::printf("  %s failover B1 -> B2 (kill to B2's resume ack) <= 2100 ms: max %.1f ms\n",
                rep.target("failover B1 -> B2 (kill to B2's resume ack) <= 2100 ms", worst <= 2100, worst, 2100, "ms"),
                worst);
  }
}

// ---- --hops: where a message's time goes, hop by hop (issue 19 part 2) ---------------------------

// The single node, the sync pair (defaults) and the late pair (journal.send_before_durable off),
// started with TANDEM_HOP_TRACE so that each records per-hop timestamps (journal/hop_trace.hpp);
// `n` messages each at 1 outstanding, in alternating slices of 100; then each target's table:
// the median offset of every hop from the entry node's client_read.
void run_hops(const args& a, const std::string& root, const std::string& payload, const std::string& run_tag,
              json_report& rep) {
  ::setenv("TANDEM_HOP_TRACE", std::to_string(std::max<std::size_t>(65536, a.hops * 40)).c_str(), 1);
  node single{"S", root + "/hops-single"};
  node sa{"A", root + "/hops-sync-A"}, sb{"B", root + "/hops-sync-B"};
  node ea{"A", root + "/hops-late-A"}, eb{"B", root + "/hops-late-B"};
  start_node(a, single, {});
  start_pair(a, sa, sb, "sync");
  start_pair(a, ea, eb, "sync", [](nlohmann::json& c) { c["journal"]["send_before_durable"] = false; });
  // Another build's single node and sync pair (before/after a change, judged within this run).
  node bs{"S", root + "/hops-base-single"}, ba{"A", root + "/hops-base-A"}, bb{"B", root + "/hops-base-B"};
  const bool with_base = start_baseline(a, bs, ba, bb);
  ::unsetenv("TANDEM_HOP_TRACE");
  std::vector<load> loads;
  loads.push_back(load_on("single", &single));
  loads.push_back(load_on("sync", &sa, &sb));
  loads.push_back(load_on("late", &ea, &eb));
  if (with_base) {
    loads.push_back(load_on("single-baseline", &bs));
    loads.push_back(load_on("sync-baseline", &ba, &bb));
    std::printf("single-baseline, sync-baseline: a single node and a sync pair of %s\n", a.baseline.c_str());
  }
  for (auto& l : loads) l.open("rbench-" + run_tag + "-hops-" + l.label, 1);
  raw_sync_loop raw(root); // the device alone, in the same slices
  for (std::size_t sent = 0; sent < a.hops; sent += 100)
    for (auto& l : loads) {
      if (&l == &loads.front()) raw.run_for(0.05, payload_bytes);
      for (std::size_t i = sent; i < std::min(a.hops, sent + 100); ++i) {
        if (a.hops_gap_ms > 0) { // the node idles as over a long round trip (issue 20's sync target)
          if (!l.pub->wait_all(30000ms)) throw bench_error(l.label + ": wait_all: " + l.pub->error());
          std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(a.hops_gap_ms));
        }
        if (!l.pub->publish("bench/topic", payload, 10000ms)) throw bench_error(l.label + ": publish: " + l.pub->error());
      }
      if (!l.pub->wait_all(30000ms)) throw bench_error(l.label + ": wait_all: " + l.pub->error());
    }
  if (a.hops_gap_ms > 0) std::printf("each message after %.1f ms idle (--hops-gap-ms)\n", a.hops_gap_ms);
  std::printf("per-hop timestamps, %zu messages per target at 1 outstanding (median offset from the entry node's "
              "client_read; +us: from the row above; node A is the entry, B its partner)\n"
              "raw 1 KiB pwrite + fdatasync in the same slices: p50 %.0f us, p99 %.0f us (%zu calls)\n",
              a.hops, percentile_of(raw.latencies_us(), 50), percentile_of(raw.latencies_us(), 99),
              raw.latencies_us().size());
  rep.phase("hops-raw", {{"p50_us", percentile_of(raw.latencies_us(), 50)},
                         {"p99_us", percentile_of(raw.latencies_us(), 99)},
                         {"samples", raw.latencies_us().size()}});
  auto hops_of = [](const node& n) { // every page of the node's ring (hop_trace::dump_json)
    std::vector<hop_mark> marks;
    for (std::uint64_t from = 0;;) {
      auto r = client::http_get("127.0.0.1", n.admin, "/debug/hops?from=" + std::to_string(from), 10000ms);
      if (!r.ok || r.status != 200) throw bench_error("node " + n.name + ": GET /debug/hops: " + r.error);
      const auto doc = nlohmann::json::parse(r.body, nullptr, false);
      auto page = hop_marks_of(n.name, doc);
      marks.insert(marks.end(), page.begin(), page.end());
      const auto next = doc.is_object() ? doc.value("next", std::uint64_t{0}) : 0;
      if (page.empty() || next <= from || next >= doc.value("end", std::uint64_t{0})) return marks;
      from = next;
    }
  };
  for (auto& l : loads) {
    auto marks = hops_of(*l.entry);
    if (l.peer) {
      auto more = hops_of(*l.peer);
      marks.insert(marks.end(), more.begin(), more.end());
    }
    std::size_t messages = 0;
    const auto rows = hop_table(std::move(marks), l.entry->name, &messages);
    std::printf("\n%s (%zu messages traced; slow: the 2%% with the latest client_ack):\n  %-4s %-12s %9s %8s %6s | "
                "%9s %8s %6s\n",
                l.label.c_str(), messages, "node", "point", "at us", "+us", "seen", "slow at", "+us", "seen");
    json_report::json jrows = json_report::json::array();
    double prev = 0, slow_prev = 0;
    for (const auto& r : rows) {
      std::printf("  %-4s %-12s %9.1f %8.1f %6zu | %9.1f %8.1f %6zu\n", r.node.c_str(), r.point.c_str(), r.median_us,
                  r.median_us - prev, r.seen, r.slow_median_us, r.slow_median_us - slow_prev, r.slow_seen);
      jrows.push_back({{"node", r.node},
                       {"point", r.point},
                       {"median_us", r.median_us},
                       {"seen", r.seen},
                       {"slow_median_us", r.slow_median_us},
                       {"slow_seen", r.slow_seen}});
      prev = r.median_us;
      slow_prev = r.slow_median_us;
    }
    rep.phase("hops-" + l.label, {{"messages", messages}, {"rows", jrows}});
    l.conn->close();
  }
  std::fflush(stdout);
  for (node* n : {&single, &sa, &sb, &ea, &eb}) stop_node(*n);
  if (with_base) stop_nodes({&bs, &ba, &bb});
}

int run(const args& a, json_report& rep) {
  const std::string root = make_temp_root(a.dir, "tandem-replication-bench");
  std::printf("%s\n", rep.machine(root).c_str());
  std::printf("tandemd: %s\nmessages: %zu-byte payload; %.1f s per target and window, in %.1f s slices; "
              "down-destination messages %llu; idle %.0f s\n\n",
              a.tandemd.c_str(), payload_bytes, a.seconds, slice_seconds,
              static_cast<unsigned long long>(a.down_messages), a.idle_seconds);
  const bool aes_ni = cpu_has_aes_ni();
  std::printf("tls: %s, AES-NI %s\n", OpenSSL_version(OPENSSL_VERSION), aes_ni ? "yes" : "no");
  rep.machine_fact("openssl", OpenSSL_version(OPENSSL_VERSION));
  rep.machine_fact("aes_ni", aes_ni);
  std::fflush(stdout);
  rep.settings({{"tandemd", a.tandemd},
                {"payload_bytes", payload_bytes},
                {"seconds_per_target_window", a.seconds},
                {"slice_s", slice_seconds},
                {"down_messages", a.down_messages},
                {"idle_s", a.idle_seconds},
                {"failover_trials", a.failover_trials},
                {"tail_window_bytes", a.tail_window_bytes},
                {"only_metrics_cost", a.only_metrics_cost},
                {"only_tls_cost", a.only_tls_cost},
                {"only_throughput", a.only_throughput},
                {"redis", a.redis},
                {"floor", a.floor},
                {"hops", a.hops},
                {"hops_gap_ms", a.hops_gap_ms},
                {"baseline", a.baseline}});
  const std::string payload(payload_bytes, 'x');
  const std::string run_tag = std::to_string(::getpid());
  if (a.only_metrics_cost) {
    auto m = run_metrics_cost(a, root, payload, run_tag, rep);
    std::printf("\nload average now: %s\ntargets:\n", load_average().c_str());
    report_metrics_cost_targets(m, rep);
    return 0;
  }
  if (a.hops > 0) {
    run_hops(a, root, payload, run_tag, rep);
    return 0;
  }
  if (a.only_tls_cost) {
    auto tc = run_tls_cost(a, root, payload, run_tag, rep);
    std::printf("\nload average now: %s\ntargets:\n", load_average().c_str());
    report_tls_cost_targets(tc, rep);
    return 0;
  }

  const auto t = run_throughput(a, root, payload, run_tag, rep);
  if (a.only_throughput) {
    std::printf("\nload average now: %s\ntargets:\n", load_average().c_str());
    report_redis_targets(t, rep);
    report_issue19_targets(t, rep);
    return 0;
  }
  const double growth_mib = run_down_destination(a, root, payload, run_tag, t, rep);
  const auto [idle_a, idle_b] = run_idle_pair(a, root, rep);

  // 6: failover between two servers of one destination.
  failover_result fo;
  if (a.failover_trials > 0) {
    fo = run_failover(a, root);
    std::printf("\nfailover (A -> async destination B at [B1, B2], ~2000 msg/s; SIGKILL of the server in use; "
                "%llu messages published):\n",
                static_cast<unsigned long long>(fo.published));
    rep.phase("failover", {{"published_messages", fo.published}});
    report_failover(rep, "failover-b1-killed", "B1 killed, A to B2", fo.to_second);
    report_failover(rep, "failover-b2-killed", "B2 killed, A to B1", fo.to_first);
  }

  // 7: metrics on vs off.
  auto mcost = run_metrics_cost(a, root, payload, run_tag, rep);

  // 8: plaintext vs TLS sync pair.
  auto tcost = run_tls_cost(a, root, payload, run_tag, rep);

  report_targets(a, t, growth_mib, idle_a, idle_b, fo, rep);
  report_metrics_cost_targets(mcost, rep);
  report_tls_cost_targets(tcost, rep);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    const bool has_value = i + 1 < argc;
    if (k == "--quick") {
      a.seconds = 1;
      a.down_messages = 5000;
      a.idle_seconds = 1;
      a.failover_trials = 2;
    } else if (k == "--dir" && has_value) a.dir = argv[++i];
    else if (k == "--seconds" && has_value) a.seconds = std::stod(argv[++i]);
    else if (k == "--down-messages" && has_value) a.down_messages = std::stoull(argv[++i]);
    else if (k == "--idle-seconds" && has_value) a.idle_seconds = std::stod(argv[++i]);
    else if (k == "--tandemd" && has_value) a.tandemd = argv[++i];
    else if (k == "--tail-window-bytes" && has_value) a.tail_window_bytes = std::stoull(argv[++i]);
    else if (k == "--failover-trials" && has_value) a.failover_trials = std::stoi(argv[++i]);
    else if (k == "--only-metrics-cost") a.only_metrics_cost = true;
    else if (k == "--only-tls-cost") a.only_tls_cost = true;
    else if (k == "--only-throughput") a.only_throughput = true;
    else if (k == "--no-redis") a.redis = false;
    else if (k == "--no-floor") a.floor = false;
    else if (k == "--hops" && has_value) a.hops = std::stoull(argv[++i]);
    else if (k == "--hops-gap-ms" && has_value) a.hops_gap_ms = std::stod(argv[++i]);
    else if ((k == "--baseline" || k == "--hops-baseline") && has_value) a.baseline = argv[++i];
    else if (k == "--json" && has_value) a.json = argv[++i];
    else {
      std::fprintf(stderr, "usage: replication_bench [--dir DIR] [--seconds S] [--down-messages N] "
                           "[--idle-seconds S] [--tandemd PATH] [--tail-window-bytes N] [--failover-trials N] [--quick] "
                           "[--only-metrics-cost] [--only-tls-cost] [--only-throughput] [--no-redis] [--no-floor] [--hops N] [--hops-gap-ms G] [--baseline PATH] [--json FILE]\n");
      return 2;
    }
  }
  json_report rep("replication_bench", argc, argv);
  if (!rep.set_output(a.json)) return 2;
  return run_with_cleanup(rep, [&] { return run(a, rep); });
}
