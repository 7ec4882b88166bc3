// The WAN rig's delay proxy (tests/support/delay_proxy.hpp) against a local echo server: the
// delay it adds, the order it keeps over megabytes with a small queue bound, and closes passed on.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/delay_proxy.hpp"
#include "tests/support/process.hpp"

using namespace tandem::test;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

// Reads exactly n bytes from fd, or nullopt at EOF, on an error or at the deadline.
std::optional<std::string> read_exactly(int fd, std::size_t n, milliseconds timeout) {
  std::string out;
  const auto deadline = steady_clock::now() + timeout;
  char buf[65536];
  while (out.size() < n) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0)
      return std::nullopt;
    const ssize_t r = ::read(fd, buf, std::min(sizeof buf, n - out.size()));
    if (r <= 0)
      return std::nullopt;
    out.append(buf, static_cast<std::size_t>(r));
  }
  return out;
}

// Whether fd reaches EOF (read() == 0) within `timeout`, discarding what comes before it.
bool sees_eof(int fd, milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0)
      return false;
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r <= 0)
      return true; // EOF, or a reset: closed either way
  }
}

// A loopback listener whose one accepted connection echoes everything back (echo = true) or is
// handed to the test (accepted()). Joined and closed on destruction.
class echo_server {
public:
  explicit echo_server(bool echo) : echo_(echo) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listen_fd_, 4) == 0);
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~echo_server() {
    stop_ = true;
    thread_.join();
    for (int fd : {listen_fd_, conn_.load()})
      if (fd >= 0)
        ::close(fd);
  }
  std::uint16_t port() const { return port_; }
  // The accepted connection (echo = false), once there: -1 until then or after `timeout`.
  int accepted(milliseconds timeout) const {
    wait_until([&] { return conn_.load() >= 0; }, timeout, 1ms);
    return conn_.load();
  }

private:
  void serve() {
    pollfd p{listen_fd_, POLLIN, 0};
    while (!stop_ && ::poll(&p, 1, 20) == 0) {
    }
    if (stop_)
      return;
    conn_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    char buf[65536];
    while (echo_ && !stop_) {
      pollfd c{conn_.load(), POLLIN, 0};
      if (::poll(&c, 1, 20) == 0)
        continue;
      const ssize_t n = ::read(conn_.load(), buf, sizeof buf);
      if (n <= 0 || ::send(conn_.load(), buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n)
        break;
    }
  }

  bool echo_;
  int listen_fd_ = -1;
  std::atomic<int> conn_{-1};
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

delay_proxy_options to(std::uint16_t port, milliseconds delay) {
  delay_proxy_options o;
  o.target_host = "127.0.0.1";
  o.target_port = port;
  o.one_way_delay = delay;
  return o;
}

} // namespace

TEST_CASE("delay proxy: a round trip through it takes twice the one-way delay, within a tolerance") {
  echo_server echo{true};
  constexpr milliseconds delay{20};
  delay_proxy proxy{to(echo.port(), delay)};
  const int fd = connect_loopback(proxy.port());
  REQUIRE(fd >= 0);
  std::vector<double> rtt_ms;
  for (int i = 0; i < 10; ++i) {
    const auto t0 = steady_clock::now();
    REQUIRE(::send(fd, "p", 1, MSG_NOSIGNAL) == 1);
    REQUIRE(read_exactly(fd, 1, 5s) == std::string{"p"});
    rtt_ms.push_back(std::chrono::duration<double, std::milli>(steady_clock::now() - t0).count());
  }
  ::close(fd);
  std::sort(rtt_ms.begin(), rtt_ms.end());
  MESSAGE("round trips through a 20 ms proxy: min " << rtt_ms.front() << " ms, median " << rtt_ms[5] << " ms, max "
                                                    << rtt_ms.back() << " ms");
  CHECK(rtt_ms.front() >= 2.0 * delay.count());
  CHECK(rtt_ms[5] <= 2.0 * delay.count() + 15); // a loaded two-core machine: 15 ms of slack
  // The proxy counts a write after send() returns, which can be after the echo has arrived here.
  CHECK(wait_until([&] { return proxy.counters().bytes_to_client == 10; }, 5s, 1ms));
  const auto c = proxy.counters();
  CHECK(c.bytes_to_target == 10);
  CHECK(c.bytes_to_client == 10);
  CHECK(c.accepted == 1);
}

TEST_CASE("delay proxy: 8 MB through a 256 KiB queue bound arrive complete and in order") {
  echo_server echo{true};
  auto options = to(echo.port(), milliseconds{5});
  options.max_queued_bytes = 256u << 10;
  delay_proxy proxy{options};
  std::string data(8u << 20, '\0');
  std::mt19937 rng{20};
  std::generate(data.begin(), data.end(), [&] { return static_cast<char>(rng()); });
  const int fd = connect_loopback(proxy.port());
  REQUIRE(fd >= 0);
  std::thread writer([&] {
    for (std::size_t off = 0; off < data.size();) {
      const ssize_t n = ::send(fd, data.data() + off, std::min<std::size_t>(100'000, data.size() - off), MSG_NOSIGNAL);
      if (n <= 0)
        return;
      off += static_cast<std::size_t>(n);
    }
  });
  const auto back = read_exactly(fd, data.size(), 60s);
  writer.join();
  ::close(fd);
  REQUIRE(back.has_value());
  CHECK(*back == data);
  CHECK(wait_until([&] { return proxy.counters().bytes_to_client == data.size(); }, 5s, 1ms)); // counted after send()
  const auto c = proxy.counters();
  CHECK(c.bytes_to_target == data.size());
  CHECK(c.bytes_to_client == data.size());
  // The bound holds: at most one read (64 KiB) past it.
  MESSAGE("largest queue one way: " << c.max_queued_bytes_seen << " bytes (bound 256 KiB + one 64 KiB read)");
  CHECK(c.max_queued_bytes_seen <= options.max_queued_bytes + options.read_chunk_bytes);
  CHECK(c.max_queued_bytes_seen >= options.max_queued_bytes / 2); // the bound, not the sender, was the limit
}

TEST_CASE("delay proxy: a closed side closes the other, one delay later") {
  constexpr milliseconds delay{30};
  SUBCASE("the client closes: the target sees its end") {
    echo_server server{false};
    delay_proxy proxy{to(server.port(), delay)};
    const int fd = connect_loopback(proxy.port());
    REQUIRE(fd >= 0);
    const int far = server.accepted(5s);
    REQUIRE(far >= 0);
    const auto t0 = steady_clock::now();
    ::close(fd);
    CHECK(sees_eof(far, 5s));
    CHECK(steady_clock::now() - t0 >= delay);
    ::shutdown(far, SHUT_WR); // the far side answers with its own end: the proxy's connection is gone
    CHECK(wait_until([&] { return proxy.counters().open == 0; }, 5s));
  }
  SUBCASE("the target closes: the client sees its end") {
    echo_server server{false};
    delay_proxy proxy{to(server.port(), delay)};
    const int fd = connect_loopback(proxy.port());
    REQUIRE(fd >= 0);
    const int far = server.accepted(5s);
    REQUIRE(far >= 0);
    ::shutdown(far, SHUT_WR);
    CHECK(sees_eof(fd, 5s));
    ::close(fd);
    CHECK(wait_until([&] { return proxy.counters().open == 0; }, 5s));
  }
  SUBCASE("the target is down: the client is closed and the failure counted") {
    const auto closed_port = free_port();
    delay_proxy proxy{to(closed_port, delay)};
    const int fd = connect_loopback(proxy.port());
    REQUIRE(fd >= 0);
    CHECK(sees_eof(fd, 5s));
    ::close(fd);
    CHECK(proxy.counters().target_failures == 1);
    CHECK(wait_until([&] { return proxy.counters().open == 0; }, 5s));
  }
}
