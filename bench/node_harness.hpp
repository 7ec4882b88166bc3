// The harness of the benchmarks that start real tandemd processes (replication_bench,
// fanout_bench): the one cleanup registry of node pids and the temp dir, the signal thread that
// runs it, a node (ports, log, /status) and starting, waiting for and stopping nodes. Header-only
// on top of bench_util.hpp; needs tandem_client (http_get) and nlohmann_json.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/bench_json.hpp"
#include "bench/bench_util.hpp"
#include "client/http_get.hpp"

namespace tandem::bench {

// ---- cleanup: every node pid and the temp dir, released once on any exit path ----------------

inline std::mutex cleanup_mu;
inline std::set<pid_t> live_children;
inline std::string temp_root;

inline void cleanup_everything() {
  std::lock_guard lock(cleanup_mu);
  for (pid_t p : live_children) ::kill(p, SIGTERM); // all at once, then reap one by one
  for (pid_t p : live_children) stop_child(p, std::chrono::milliseconds{5000});
  live_children.clear();
  if (!temp_root.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_root, ec);
    temp_root.clear();
  }
}

// Creates `dir`/`prefix`-XXXXXX for this run's nodes and registers it for cleanup; returns its path.
inline std::string make_temp_root(const std::string& dir, const std::string& prefix) {
  std::filesystem::create_directories(dir);
  std::string tmpl = dir + "/" + prefix + "-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw bench_error(errno_text("mkdtemp " + tmpl));
  std::lock_guard lock(cleanup_mu);
  temp_root = tmpl;
  return tmpl;
}

// SIGINT/SIGTERM/SIGHUP are blocked in every thread and taken here, where cleaning up is safe.
inline void start_signal_thread() {
  static sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([] {
    int sig = 0;
    sigwait(&set, &sig);
    std::fprintf(stderr, "\nsignal %d: stopping nodes, removing %s\n", sig, temp_root.c_str());
    cleanup_everything();
    std::_Exit(128 + sig);
  }).detach();
}

// Runs a benchmark's body with the signal thread up, through `report` (json_report::run: an
// exception is reported as "NAME: what" and recorded, the --json document written); on any exit
// path then cleans up every node and the temp dir. Returns run()'s exit code. A signal ends the
// process from the signal thread without a document.
template <class Body>
int run_with_cleanup(json_report& report, Body&& body) {
  start_signal_thread();
  const int rc = report.run(std::forward<Body>(body));
  cleanup_everything();
  return rc;
}

// ---- nodes ------------------------------------------------------------------------------------

struct node {
  std::string name;
  std::string dir; // holds config, log and data
  std::uint16_t replication = free_port(), client = free_port(), admin = free_port();
  pid_t pid = -1;

  std::string log_path() const { return dir + "/tandemd.log"; }

  // The last 3000 bytes of the node's log, for error messages.
  std::string log_tail() const {
    std::ifstream f(log_path());
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    return s.size() > 3000 ? s.substr(s.size() - 3000) : s;
  }

  // GET /status as JSON; null when the node does not answer 200 within 5 s.
  nlohmann::json status() const {
    using namespace std::chrono_literals;
    auto r = client::http_get("127.0.0.1", admin, "/status", 5000ms);
    if (!r.ok || r.status != 200) return nlohmann::json{};
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  // The /status entry of destination `dest`; null when absent.
  nlohmann::json destination(const std::string& dest) const {
    auto s = status();
    if (s.is_object() && s.contains("destinations"))
      for (const auto& d : s["destinations"])
        if (d.value("name", "") == dest) return d;
    return nlohmann::json{};
  }
};

// A node's config without destinations: name, data dir and its three ports.
inline nlohmann::json base_config(const node& n) {
  return {{"name", n.name},
          {"data_dir", n.dir + "/data"},
          {"replication", {{"port", n.replication}}},
          {"client", {{"port", n.client}}},
          {"admin", {{"port", n.admin}}},
          {"destinations", nlohmann::json::array()}};
}

// Writes `config` to n.dir/config.json and starts `tandemd` on it, registered for cleanup; does
// not wait for it (wait_healthy), so that many nodes can start side by side.
inline void launch_node(const std::string& tandemd, node& n, const nlohmann::json& config) {
  std::filesystem::create_directories(n.dir);
  const std::string cfg = n.dir + "/config.json";
  std::ofstream(cfg) << config.dump(2);
  std::lock_guard lock(cleanup_mu);
  n.pid = spawn({tandemd, "--config", cfg}, n.dir, n.log_path());
  live_children.insert(n.pid);
}

// Polls /healthz until it answers 200; throws (with the log's tail) when the node exits first
// or the timeout passes.
inline void wait_healthy(const node& n, std::chrono::seconds timeout) {
  using namespace std::chrono_literals;
  const auto deadline = bench_clock::now() + timeout;
  while (bench_clock::now() < deadline) {
    if (!child_running(n.pid)) throw bench_error("node " + n.name + " exited at startup:\n" + n.log_tail());
    auto r = client::http_get("127.0.0.1", n.admin, "/healthz", 500ms);
    if (r.ok && r.status == 200) return;
    std::this_thread::sleep_for(20ms);
  }
  throw bench_error("node " + n.name + " did not answer /healthz within " + std::to_string(timeout.count()) +
                    " s:\n" + n.log_tail());
}

inline void stop_node(node& n) {
  std::lock_guard lock(cleanup_mu);
  stop_child(n.pid, std::chrono::milliseconds{5000});
  live_children.erase(n.pid);
  n.pid = -1;
}

// SIGTERM to all first, so their shutdowns overlap, then reap each.
inline void stop_nodes(const std::vector<node*>& nodes) {
  std::lock_guard lock(cleanup_mu);
  for (node* n : nodes)
    if (n->pid > 0) ::kill(n->pid, SIGTERM);
  for (node* n : nodes) {
    stop_child(n->pid, std::chrono::milliseconds{5000});
    live_children.erase(n->pid);
    n->pid = -1;
  }
}

} // namespace tandem::bench
