// Destination-server failover tests: a node that dials one destination listed at several
// addresses (started by the test itself, so it can carry an environment and its pid is at hand for
// /proc), a publisher that runs in the background until told to stop, and what /proc says about
// a process. The servers of the destination are plain test_nodes that all call themselves "B",
// each in its own temp dir so that their data dirs and configs do not collide.
#pragma once

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "client/client_connection.hpp"
#include "client/publisher.hpp"
#include "tests/tools/cluster_fixture.hpp"

namespace tandem::test {

inline std::string replication_address(const test_node& server) {
  return "127.0.0.1:" + std::to_string(server.ports().replication);
}

// An async destination (publishing never waits for a dying server) with `addresses` in priority
// order and the given reconnect schedule.
inline nlohmann::json failover_destination(const std::string& name, const std::vector<std::string>& addresses,
                                           const nlohmann::json& reconnect) {
  return {{"name", name},
          {"sync_type", "async"},
          {"addresses", addresses},
          {"passthrough", nlohmann::json::array()},
          {"reconnect", reconnect}};
}

// The node under test. Config, ports, /status and journal come from a test_node; the process is
// started here, optionally through /usr/bin/env with extra variables ("NAME=value").
class dialing_node {
public:
  dialing_node(const temp_dir& dir, const std::string& name) : dir_(dir), node_(dir, name) {}

  const test_node& node() const { return node_; }
  nlohmann::json link(const std::string& dest = "B") const { return node_.destination(dest); }

  // `extra` is merged into the config (e.g. journal settings).
  void configure(const nlohmann::json& destination, nlohmann::json extra = nlohmann::json::object()) {
    extra["destinations"] = nlohmann::json::array({destination});
    node_.configure({}, extra);
  }

  void start(const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv;
    if (!env.empty()) {
      argv.push_back("/usr/bin/env");
      argv.insert(argv.end(), env.begin(), env.end());
    }
    argv.insert(argv.end(), {tandemd_path(), "--config", node_.config_file()});
    proc_ = std::make_unique<child_process>(argv, dir_.path(), dir_.path());
    REQUIRE_MESSAGE(wait_until_up(*proc_, node_.ports().admin), "node " << node_.name() << " did not start: " << log());
  }

  // /usr/bin/env execs tandemd in place, so this is tandemd's pid either way.
  pid_t pid() const { return proc_->pid(); }
  int stop() { return proc_->terminate(node_.name()); }
  std::string log() const { return proc_ ? proc_->stderr_text() : std::string{}; }

private:
  const temp_dir& dir_;
  test_node node_;
  std::unique_ptr<child_process> proc_;
};

// Publishes 100-byte messages to a node from its own thread, paced at about 2000 a second (so
// that three nodes and the test share two cores without starving), until stop().
class background_publisher {
public:
  background_publisher(std::uint16_t client_port, std::string id)
      : thread_([this, client_port, publisher_id = std::move(id)] { run(client_port, publisher_id); }) {}
  ~background_publisher() { stop(); }
  background_publisher(const background_publisher&) = delete;
  background_publisher& operator=(const background_publisher&) = delete;

  // Publishes sent so far (persisted or not).
  std::uint64_t sent() const { return sent_.load(); }

  // Stops publishing and waits for the outstanding acks. Idempotent.
  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  // Valid after stop().
  std::uint64_t persisted() const { return persisted_; }
  std::uint64_t negative() const { return negative_; }
  const std::string& error() const { return error_; }

private:
  void run(std::uint16_t port, const std::string& id) {
    client::client_connection c;
    if (auto err = c.connect("127.0.0.1", port, id, 5s); !err.empty()) {
      error_ = "connect: " + err;
      return;
    }
    client::publisher p{c, client::publisher_options{id, 16}};
    const std::string payload(100, 'x');
    while (!stop_) {
      if (!p.publish("orders." + id, payload, 5s)) {
        error_ = "publish: " + p.error();
        break;
      }
      ++sent_;
      std::this_thread::sleep_for(500us); // pacing, not waiting for anything
    }
    if (!p.wait_all(10s) && error_.empty())
      error_ = "acks missing: " + p.error();
    persisted_ = p.counters().persisted;
    negative_ = p.counters().negative;
  }

  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::uint64_t persisted_ = 0, negative_ = 0;
  std::string error_;
  std::thread thread_; // last: starts once everything above is constructed
};

// utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15).
inline double cpu_seconds(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')'); // the command name may contain spaces and parentheses
  REQUIRE(close != std::string::npos);
  std::istringstream fields{stat.substr(close + 2)}; // from field 3 (state) on
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14)
      utime = std::stoull(f);
    if (i == 15)
      stime = std::stoull(f);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Open file descriptors of a process.
inline std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

// Replaces an /etc/hosts-format file in one step (rename), so a reader never sees half of it.
inline void write_hosts_file(const std::string& path, const std::string& address, const std::string& name) {
  write_file(path + ".new", address + " " + name + "\n");
  REQUIRE(std::rename((path + ".new").c_str(), path.c_str()) == 0);
}

} // namespace tandem::test
