// A tiny stand-in for tandemd's client listener, for client tests without a node: listens on
// 127.0.0.1:<ephemeral>, accepts ONE connection (or one per script, in order) on its own thread
// and runs the test's script on it. The script drives the node's side frame by frame, so each test decides exactly what the
// client sees and when. Every blocking step is bounded (io_timeout); problems a script notices
// are collected with expect() and checked by the test after join().
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/frame_reader.hpp"
#include "protocol/messages.hpp"

namespace tandem::test {

inline constexpr std::chrono::milliseconds io_timeout{5000};

// The node's end of the accepted connection (blocking, each call bounded by io_timeout).
class node_side {
public:
  explicit node_side(int fd) : fd_(fd) {}
  ~node_side() { close(); }
  node_side(const node_side&) = delete;
  node_side& operator=(const node_side&) = delete;

  // Next frame from the client; nullopt on EOF, timeout or an undecodable frame.
  std::optional<protocol::message> read();
  bool write(const protocol::message& m);
  // Writes `bytes` as separate send() calls of the given sizes (cycled), so the client's reads
  // see the stream cut at those boundaries.
  bool write_raw(std::string_view bytes, const std::vector<std::size_t>& pieces = {});
  // Reads the client_hello (recorded in `hello`) and answers client_hello{1,0,name}.
  bool answer_hello(const std::string& name = "fake-node");
  // Reads a publisher_logon and answers publisher_logon_ack{its id, highest_seq}; returns the id.
  std::optional<std::string> answer_logon(std::uint64_t highest_seq);
  void close();

  void expect(bool ok, const std::string& what);
  std::vector<std::string> problems() const;

  protocol::client_hello hello;

private:
  int fd_;
  protocol::frame_reader reader_;
  mutable std::mutex mutex_;
  std::vector<std::string> problems_;
};

class fake_node {
public:
  using script = std::function<void(node_side&)>;

  explicit fake_node(script s);
  // A node that serves len(scripts) connections one after another (scripts[i] on the i-th)
  // and then goes down: its listener closes, so later connects are refused.
  explicit fake_node(std::vector<script> scripts);
  ~fake_node(); // joins (the script's own steps are bounded)
  fake_node(const fake_node&) = delete;
  fake_node& operator=(const fake_node&) = delete;

  std::uint16_t port() const { return port_; }
  // Connections accepted so far.
  std::size_t connections() const { return connections_.load(); }
  // Stop waiting for connections that have not come (join() then does not report them missing)
  // and close the listener once the current script ends.
  void stop_accepting() { stop_ = true; }
  // Waits for the scripts to end; returns what they found wrong ("no connection" if one that
  // was scripted never came).
  std::vector<std::string> join();

private:
  void start(std::vector<script> scripts, bool close_listener_after);

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::vector<std::string> problems_;
  std::atomic<std::size_t> connections_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A port on 127.0.0.1 that is bound but not listening while this object lives: connecting to
// it is refused at once (a node that is down).
class refusing_port {
public:
  refusing_port();
  ~refusing_port();
  refusing_port(const refusing_port&) = delete;
  refusing_port& operator=(const refusing_port&) = delete;
  std::uint16_t port() const { return port_; }

private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// A one-shot signal between the test and a script, waited on with a deadline.
class gate {
public:
  void open() { std::call_once(once_, [this] { promise_.set_value(); }); }
  bool wait(std::chrono::milliseconds timeout = io_timeout) {
    return future_.wait_for(timeout) == std::future_status::ready;
  }

private:
  std::promise<void> promise_;
  std::shared_future<void> future_ = promise_.get_future().share();
  std::once_flag once_;
};

} // namespace tandem::test
