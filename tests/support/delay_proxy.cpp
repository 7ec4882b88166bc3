// The delay proxy's thread: one ppoll() loop over the listening socket, a wake-up pipe and every
// connection's two sockets. See delay_proxy.hpp for the contract.
#include "tests/support/delay_proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace tandem::test {

namespace {

using proxy_clock = std::chrono::steady_clock;

std::runtime_error os_error(const std::string& what) {
  return std::runtime_error("delay_proxy: " + what + ": " + std::strerror(errno));
}

sockaddr_in ipv4(const std::string& host, std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1)
    throw std::runtime_error("delay_proxy: not a numeric IPv4 address: " + host);
  return a;
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Bytes read from one side, to be written to the other at `due`; eof: the side ended here.
struct chunk {
  proxy_clock::time_point due;
  std::string bytes;
  std::size_t sent = 0;
  bool eof = false;
};

// One direction of a connection: reads `from`, queues, writes `to` when due.
struct direction {
  int* from = nullptr;
  int* to = nullptr;
  std::uint64_t delay_proxy_counters::*count = nullptr; // where written bytes are counted
  std::deque<chunk> queue;
  std::size_t queued = 0; // bytes in `queue`
  bool read_done = false;  // `from` ended (its eof chunk is queued)
  bool write_done = false; // the end was passed on (shutdown of `to`)
  bool blocked = false;    // the last write would have blocked: wait for POLLOUT
};

struct connection {
  int client = -1, target = -1;
  bool connecting = true; // the connect to the target is in progress
  bool failed = false;    // close both sides now
  direction up, down;     // up: client -> target; down: target -> client

  connection(int client_fd, int target_fd) : client(client_fd), target(target_fd) {
    up.from = down.to = &client;
    up.to = down.from = &target;
    up.count = &delay_proxy_counters::bytes_to_target;
    down.count = &delay_proxy_counters::bytes_to_client;
  }
  ~connection() {
    ::close(client);
    ::close(target);
  }
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  bool done() const { return failed || (up.write_done && down.write_done); }
};

} // namespace

struct delay_proxy::state {
  delay_proxy_options options;
  int listen_fd = -1;
  int wake[2] = {-1, -1}; // the destructor writes to wake[1]
  std::atomic<bool> stop{false};
  mutable std::mutex mu; // guards `totals`
  delay_proxy_counters totals;
  std::list<connection> connections; // the thread's only
  std::vector<char> buffer;

  ~state() {
    connections.clear();
    for (int fd : {listen_fd, wake[0], wake[1]})
      if (fd >= 0)
        ::close(fd);
  }

  void run();
  void accept_all();
  void finish_connect(connection& c);
  void read_side(connection& c, direction& d, proxy_clock::time_point now);
  void write_due(connection& c, direction& d, proxy_clock::time_point now);
  proxy_clock::duration next_wait(proxy_clock::time_point now) const;
  void add(std::uint64_t delay_proxy_counters::*field, std::uint64_t n) {
    std::lock_guard lock(mu);
    totals.*field += n;
  }
};

void delay_proxy::state::accept_all() {
  for (;;) {
    const int client = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0)
      return; // EAGAIN, or an aborted connection: nothing to serve
    set_nodelay(client);
    const int target = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    auto& c = connections.emplace_back(client, target);
    add(&delay_proxy_counters::accepted, 1);
    add(&delay_proxy_counters::open, 1);
    const auto to = ipv4(options.target_host, options.target_port);
    if (target < 0 || (::connect(target, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0 && errno != EINPROGRESS)) {
      c.failed = true;
      add(&delay_proxy_counters::target_failures, 1);
      continue;
    }
    set_nodelay(target);
  }
}

void delay_proxy::state::finish_connect(connection& c) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(c.target, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
    c.failed = true; // the client is closed: as if the far end refused it
    add(&delay_proxy_counters::target_failures, 1);
    return;
  }
  c.connecting = false;
}

void delay_proxy::state::read_side(connection& c, direction& d, proxy_clock::time_point now) {
  if (d.read_done)
    return; // a POLLHUP after the end: the write side finds out what is left
  const std::size_t room = options.max_queued_bytes > d.queued ? options.max_queued_bytes - d.queued : 0;
  const ssize_t n = ::read(*d.from, buffer.data(), std::min(buffer.size(), std::max<std::size_t>(room, 1)));
  if (n < 0) {
    c.failed = errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    return;
  }
  chunk ch{now + options.one_way_delay, std::string(buffer.data(), static_cast<std::size_t>(n)), 0, n == 0};
  d.read_done = n == 0;
  d.queued += ch.bytes.size();
  d.queue.push_back(std::move(ch));
  std::lock_guard lock(mu);
  totals.max_queued_bytes_seen = std::max(totals.max_queued_bytes_seen, d.queued);
}

// Writes every chunk that is due, in order, until the socket would block.
void delay_proxy::state::write_due(connection& c, direction& d, proxy_clock::time_point now) {
  d.blocked = false;
  while (!c.connecting && !c.failed && !d.queue.empty() && d.queue.front().due <= now) {
    auto& ch = d.queue.front();
    if (ch.eof) {
      ::shutdown(*d.to, SHUT_WR);
      d.write_done = true;
      d.queue.pop_front();
      continue;
    }
    const ssize_t n = ::send(*d.to, ch.bytes.data() + ch.sent, ch.bytes.size() - ch.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      d.blocked = errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
      c.failed = !d.blocked;
      return;
    }
    ch.sent += static_cast<std::size_t>(n);
    add(d.count, static_cast<std::uint64_t>(n));
    if (ch.sent == ch.bytes.size()) {
      d.queued -= ch.bytes.size();
      d.queue.pop_front();
    }
  }
}

// Until the earliest chunk that is waiting only for its time (at most 100 ms: stop is also polled).
proxy_clock::duration delay_proxy::state::next_wait(proxy_clock::time_point now) const {
  proxy_clock::duration wait = std::chrono::milliseconds{100};
  for (const auto& c : connections)
    for (const direction* d : {&c.up, &c.down})
      if (!c.connecting && !d->blocked && !d->queue.empty())
        wait = std::min(wait, std::max(proxy_clock::duration::zero(), d->queue.front().due - now));
  return wait;
}

void delay_proxy::state::run() {
  std::vector<pollfd> fds;
  std::vector<connection*> owners; // fds[i] belongs to owners[i] (null: listener or wake pipe)
  while (!stop.load()) {
    fds.assign({pollfd{wake[0], POLLIN, 0}, pollfd{listen_fd, POLLIN, 0}});
    owners.assign(2, nullptr);
    for (auto& c : connections) {
      short client_events = 0, target_events = 0;
      if (!c.up.read_done && c.up.queued < options.max_queued_bytes) client_events |= POLLIN;
      if (!c.down.read_done && c.down.queued < options.max_queued_bytes && !c.connecting) target_events |= POLLIN;
      if (c.down.blocked) client_events |= POLLOUT;
      if (c.up.blocked || c.connecting) target_events |= POLLOUT;
      // A socket with nothing asked of it stays out: its POLLHUP would wake the loop for nothing.
      if (client_events) fds.push_back({c.client, client_events, 0}), owners.push_back(&c);
      if (target_events) fds.push_back({c.target, target_events, 0}), owners.push_back(&c);
    }
    const auto wait = std::chrono::duration_cast<std::chrono::nanoseconds>(next_wait(proxy_clock::now()));
    const timespec ts{static_cast<time_t>(wait.count() / 1'000'000'000), static_cast<long>(wait.count() % 1'000'000'000)};
    if (::ppoll(fds.data(), fds.size(), &ts, nullptr) < 0 && errno != EINTR)
      return;
    const auto now = proxy_clock::now();
    if (fds[1].revents & POLLIN) accept_all();
    for (std::size_t i = 2; i < fds.size(); ++i) {
      connection& c = *owners[i];
      const bool is_client = fds[i].fd == c.client;
      if (!is_client && c.connecting && fds[i].revents) finish_connect(c);
      else if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_side(c, is_client ? c.up : c.down, now);
    }
    for (auto it = connections.begin(); it != connections.end();) {
      write_due(*it, it->up, now);
      write_due(*it, it->down, now);
      if (!it->done()) {
        ++it;
        continue;
      }
      it = connections.erase(it);
      add(&delay_proxy_counters::open, static_cast<std::uint64_t>(-1));
    }
  }
}

delay_proxy::delay_proxy(delay_proxy_options options) : state_(std::make_unique<state>()) {
  auto& s = *state_;
  s.options = std::move(options);
  s.buffer.resize(std::max<std::size_t>(s.options.read_chunk_bytes, 1));
  if (::pipe2(s.wake, O_CLOEXEC | O_NONBLOCK) != 0) throw os_error("pipe2");
  s.listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.listen_fd < 0) throw os_error("socket");
  int one = 1;
  ::setsockopt(s.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ipv4(s.options.target_host, s.options.target_port); // throws here, not later in the thread
  auto addr = ipv4(s.options.listen_host, s.options.listen_port);
  socklen_t len = sizeof addr;
  if (::bind(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s.listen_fd, 64) != 0 ||
      ::getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw os_error("listen on " + s.options.listen_host + ":" + std::to_string(s.options.listen_port));
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([&s] { s.run(); });
}

delay_proxy::~delay_proxy() {
  state_->stop = true;
  const char b = 1;
  [[maybe_unused]] auto n = ::write(state_->wake[1], &b, 1);
  thread_.join();
}

std::string delay_proxy::address() const { return state_->options.listen_host + ":" + std::to_string(port_); }

delay_proxy_counters delay_proxy::counters() const {
  std::lock_guard lock(state_->mu);
  return state_->totals;
}

} // namespace tandem::test
