// Admission control of a real tandemd (issue 14, defect 9): memory an outsider can make the node
// hold is bounded by bytes (partial frames, unsent output), connections that stop making progress
// are closed, subscriptions per connection are limited, and idle strangers cannot lock a
// configured partner out of the replication listener. RSS is read from /proc of the tandemd.
#include <cerrno>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "client/publisher.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame_reader.hpp"
#include "tests/support/sanitizer.hpp"
#include "tests/tools/cluster_fixture.hpp"

using namespace tandem::test;
using namespace tandem;

namespace {

// The process id of a test_node: the one tandemd whose --config is its config file.
pid_t pid_of(const test_node& n) {
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::ifstream in{e.path() / "cmdline", std::ios::binary};
    std::string cmd{std::istreambuf_iterator<char>{in}, {}};
    if (cmd.find(n.config_file()) != std::string::npos && cmd.find("tandemd") != std::string::npos)
      return static_cast<pid_t>(std::stol(name));
  }
  return -1;
}

// The process's thread count (Threads: in /proc/PID/status), 0 if unknown.
int threads_of(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Threads:", 0) == 0)
      return std::stoi(line.substr(8));
  return 0;
}

// Resident set size in MiB (VmRSS), 0 if unknown.
double rss_mib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stod(line.substr(6)) / 1024.0; // kB
  return 0;
}

std::string encoded(const protocol::message& m) {
  std::string out;
  REQUIRE(protocol::encode(m, out));
  return out;
}

// The first 4 + 1 bytes of a frame whose length field (type byte + body) is `length`: a header
// that announces it (u32 little-endian, docs/protocol.md, framing).
std::string frame_header(std::uint32_t length, protocol::frame_type type) {
  std::string h(4, '\0');
  h[0] = static_cast<char>(length);
  h[1] = static_cast<char>(length >> 8);
  h[2] = static_cast<char>(length >> 16);
  h[3] = static_cast<char>(length >> 24);
  h.push_back(static_cast<char>(type));
  return h;
}

// Sends as much of `bytes` as the peer takes before `deadline`; returns the bytes sent (stops
// early when the peer closes or resets).
std::size_t send_some(int fd, const std::string& bytes, std::chrono::steady_clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < bytes.size() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 50) <= 0)
      continue;
    if (p.revents & (POLLERR | POLLHUP))
      break;
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        continue;
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

struct socket_guard {
  socket_guard(int f = -1) : fd(f) {}
  socket_guard(socket_guard&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  socket_guard& operator=(socket_guard&&) = delete;
  int fd = -1;
  ~socket_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

// The close frame among everything the node sent before closing (nullopt: none, or not closed in time).
std::optional<protocol::close_frame> close_frame_of(int fd, std::chrono::milliseconds timeout) {
  auto all = read_until_closed(fd, timeout);
  if (!all)
    return std::nullopt;
  protocol::frame_reader r;
  r.feed(*all);
  while (auto f = r.next()) {
    auto m = protocol::decode(*f);
    if (m)
      if (auto* c = std::get_if<protocol::close_frame>(&m.value()))
        return *c;
  }
  return std::nullopt;
}

std::uint64_t closed_by(const test_node& n, const char* reason) {
  auto s = n.status();
  if (!s.is_object() || !s["client_listener"].is_object() || !s["client_listener"]["closed_by_reason"].is_object())
    return 0;
  return s["client_listener"]["closed_by_reason"].value(reason, std::uint64_t{0});
}

std::uint64_t budget_used(const test_node& n) {
  auto s = n.status();
  return s.is_object() ? s["client_listener"]["buffer_budget"].value("used_bytes", ~std::uint64_t{0}) : ~std::uint64_t{0};
}

constexpr std::uint32_t sixteen_mib = 16u << 20;

// Opens `n` client connections, optionally says client_hello on each, then sends 16 MiB - 1 of
// one 16 MiB publish frame on each (in parallel threads, each for at most `send_for`). Returns
// the sockets, still open.
std::vector<int> partial_frame_flood(std::uint16_t port, int n, bool hello, std::chrono::seconds send_for) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    int fd = connect_loopback(port);
    REQUIRE(fd >= 0);
    fds.push_back(fd);
  }
  std::string body = frame_header(sixteen_mib, protocol::frame_type::publish);
  body.resize(sixteen_mib - 1, 'x');
  std::vector<std::thread> senders;
  auto deadline = std::chrono::steady_clock::now() + send_for;
  for (int i = 0; i < n; ++i)
    senders.emplace_back([&, fd = fds[static_cast<std::size_t>(i)], i] {
      if (hello)
        send_some(fd, encoded(protocol::client_hello{protocol::protocol_major, protocol::protocol_minor,
                                                     "flood-" + std::to_string(i)}),
                  deadline);
      send_some(fd, body, deadline);
    });
  for (auto& t : senders)
    t.join();
  return fds;
}

// n heartbeat frames back to back (the node answers each with one).
std::string heartbeats(int n) {
  std::string beats;
  for (int i = 0; i < n; ++i)
    beats += encoded(protocol::heartbeat{static_cast<std::uint64_t>(i)});
  return beats;
}

// A client connection with a small receive window (the kernel holds little of what the node
// sends) that has said client_hello and will read nothing.
socket_guard deaf_client(std::uint16_t port, std::chrono::steady_clock::time_point deadline) {
  socket_guard s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  int small = 4096;
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  REQUIRE(::connect(s.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  auto hello = encoded(protocol::client_hello{protocol::protocol_major, protocol::protocol_minor, "deaf"});
  REQUIRE(send_some(s.fd, hello, deadline) == hello.size());
  return s;
}

} // namespace

TEST_CASE("partial-frame flood before client_hello: 30 connections x 16 MiB-1 keep tandemd's RSS under 40 MiB more") {
  temp_dir dir;
  test_node a{dir, "A"};
  a.configure({});
  a.start();
  auto pid = pid_of(a);
  REQUIRE(pid > 0);
  const double before = rss_mib(pid);
  auto fds = partial_frame_flood(a.ports().client, 30, false, std::chrono::seconds{20});
  double peak = rss_mib(pid);
  // Every one is closed as soon as its 16 MiB header arrives (at most 64 KiB before the hello).
  CHECK(wait_until([&] { return closed_by(a, "resource_limit") == 30; }, 10s));
  peak = std::max(peak, rss_mib(pid));
  for (int fd : fds) {
    auto c = close_frame_of(fd, 5s);
    REQUIRE(c);
    CHECK_MESSAGE(c->code == protocol::close_code::resource_limit, c->reason);
    ::close(fd);
  }
  MESSAGE("RSS before ", before, " MiB, with 30 x 16 MiB-1 partial frames before hello ", peak, " MiB");
  CHECK(peak < before + 40 + asan_quarantine_mib);
  CHECK(a.stop() == 0);
}

TEST_CASE("partial-frame flood after client_hello: the node-wide budget admits what fits and closes the rest") {
  temp_dir dir;
  test_node a{dir, "A"};
  // Room for exactly four frames of 4 + 16 MiB in flight at once; the other 26 connections are refused.
  constexpr std::uint64_t budget = 4 * (4 + std::uint64_t{sixteen_mib});
  a.configure({}, {{"limits", {{"max_buffered_bytes_total", budget}, {"frame_timeout_ms", 60000}}}});
  a.start();
  auto pid = pid_of(a);
  REQUIRE(pid > 0);
  const double before = rss_mib(pid);
  auto fds = partial_frame_flood(a.ports().client, 30, true, std::chrono::seconds{30});
  CHECK(wait_until([&] { return closed_by(a, "resource_limit") >= 26; }, 10s));
  const double held = rss_mib(pid);
  auto s = a.status()["client_listener"]["buffer_budget"];
  MESSAGE("RSS before ", before, " MiB, 30 x 16 MiB-1 partial publishes after hello, budget 64 MiB: ", held,
          " MiB; budget ", s.dump());
  CHECK(closed_by(a, "resource_limit") == 26);
  CHECK(s.value("used_bytes", 0ull) == budget); // the four admitted ones hold their frames
  CHECK(s.value("peak_bytes", ~0ull) == budget);
  CHECK(held < before + 64 + 48 + asan_quarantine_mib); // the budget plus the reader buffers' growth slack
  for (int fd : fds)
    ::close(fd);
  CHECK(wait_until([&] { return budget_used(a) == 0; }, 10s));
  CHECK(a.stop() == 0);
}

TEST_CASE("partial publishes after client_hello are closed by the frame timeout and their memory released") {
  temp_dir dir;
  test_node a{dir, "A"};
  // A budget that takes all 20 announced frames (only 1 MiB of each ever arrives).
  a.configure({}, {{"limits", {{"frame_timeout_ms", 1000}, {"max_buffered_bytes_total", 512u << 20}}}});
  a.start();
  std::vector<socket_guard> socks(20);
  std::string start = frame_header(sixteen_mib, protocol::frame_type::publish);
  start.resize(1u << 20, 'x'); // 1 MiB of a 16 MiB publish, then nothing more
  for (int i = 0; i < 20; ++i) {
    socks[static_cast<std::size_t>(i)].fd = connect_loopback(a.ports().client);
    int fd = socks[static_cast<std::size_t>(i)].fd;
    REQUIRE(fd >= 0);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    auto hello = encoded(protocol::client_hello{protocol::protocol_major, protocol::protocol_minor, "slow"});
    REQUIRE(send_some(fd, hello, deadline) == hello.size());
    REQUIRE(send_some(fd, start, deadline) == start.size());
  }
  for (auto& s : socks) {
    auto c = close_frame_of(s.fd, 15s);
    REQUIRE_MESSAGE(c, a.log());
    CHECK(c->code == protocol::close_code::idle_timeout);
  }
  CHECK(closed_by(a, "idle_timeout") == 20);
  CHECK(wait_until([&] { return budget_used(a) == 0; }, 5s));
  CHECK(a.stop() == 0);
}

TEST_CASE("idle timeout: a greeted connection that sends nothing is closed, a subscriber is not") {
  temp_dir dir;
  test_node a{dir, "A"};
  a.configure({}, {{"limits", {{"client_idle_timeout_ms", 500}}}});
  a.start();
  client::client_connection sub;
  REQUIRE(sub.connect("127.0.0.1", a.ports().client, "sub", 5s).empty());
  REQUIRE(sub.send(protocol::subscribe{1, ".*", false, 0}, 2s));
  REQUIRE(sub.flush(2s));
  socket_guard idle{connect_loopback(a.ports().client)};
  auto hello = encoded(protocol::client_hello{protocol::protocol_major, protocol::protocol_minor, "idle"});
  REQUIRE(send_some(idle.fd, hello, std::chrono::steady_clock::now() + 5s) == hello.size());
  auto c = close_frame_of(idle.fd, 10s);
  REQUIRE(c);
  CHECK(c->code == protocol::close_code::idle_timeout);
  // The subscriber, as idle, is still served.
  client::client_connection pc;
  REQUIRE(pc.connect("127.0.0.1", a.ports().client, "pub", 5s).empty());
  client::publisher p{pc, {"p", 16}};
  REQUIRE(p.publish("t", "after the idle close", 5s));
  REQUIRE(p.wait_all(10s));
  std::optional<protocol::delivered> got;
  CHECK(wait_until(
    [&] {
      auto m = sub.receive(100ms);
      if (m)
        if (auto* d = std::get_if<protocol::delivered>(&*m))
          got = *d;
      return got.has_value();
    },
    10s));
  CHECK(closed_by(a, "idle_timeout") == 1);
  CHECK(a.stop() == 0);
}

TEST_CASE("the 65th subscription on one connection is refused with close resource_limit, and 64 cost no thread each") {
  temp_dir dir;
  test_node a{dir, "A"};
  a.configure({});
  a.start();
  const auto pid = pid_of(a);
  REQUIRE(pid > 0);
  const int threads_before = threads_of(pid);
  client::client_connection c;
  REQUIRE(c.connect("127.0.0.1", a.ports().client, "many", 5s).empty());
  for (std::uint64_t id = 1; id <= 64; ++id)
    REQUIRE(c.send(protocol::subscribe{id, "t" + std::to_string(id), false, 0}, 2s));
  REQUIRE(c.send(protocol::subscribe{7, "again", false, 0}, 2s)); // replaces 7: still 64
  REQUIRE(c.flush(2s));
  REQUIRE(wait_until([&] { return a.status()["client_listener"].value("subscribers", 0) == 1; }, 5s));
  CHECK_FALSE(c.receive(300ms)); // nothing refused so far
  const int threads_with_64 = threads_of(pid);
  MESSAGE("tandemd threads: ", threads_before, " before, ", threads_with_64, " with 64 subscriptions");
  CHECK(threads_with_64 - threads_before < 4); // subscriptions run on the scheduler
  REQUIRE(c.send(protocol::subscribe{65, "one.more", false, 0}, 2s));
  REQUIRE(c.flush(2s));
  std::optional<protocol::close_frame> closed;
  CHECK(wait_until(
    [&] {
      auto m = c.receive(100ms);
      if (m)
        if (auto* f = std::get_if<protocol::close_frame>(&*m))
          closed = *f;
      return closed.has_value();
    },
    10s));
  REQUIRE(closed);
  CHECK(closed->code == protocol::close_code::resource_limit);
  CHECK(closed->reason.find("max_subscriptions_per_connection") != std::string::npos);
  CHECK(closed_by(a, "resource_limit") == 1);
  CHECK(a.stop() == 0);
}

TEST_CASE("a publisher that never reads is closed once its unsent output passes max_connection_buffer_bytes") {
  temp_dir dir;
  test_node a{dir, "A"};
  a.configure({}, {{"limits", {{"max_connection_buffer_bytes", 65536}}}});
  a.start();
  auto deadline = std::chrono::steady_clock::now() + 30s;
  socket_guard s = deaf_client(a.ports().client, deadline);
  // Heartbeats are answered one for one: send them, read nothing.
  const std::string beats = heartbeats(1000);
  std::size_t sent = 0;
  while (closed_by(a, "resource_limit") == 0 && std::chrono::steady_clock::now() < deadline) {
    auto n = send_some(s.fd, beats, std::min(deadline, std::chrono::steady_clock::now() + 1s));
    sent += n;
    if (n < beats.size())
      break; // reset by the node
  }
  CHECK(wait_until([&] { return closed_by(a, "resource_limit") == 1; }, 10s));
  MESSAGE("sent ", sent, " bytes of heartbeats before the node closed the deaf connection");
  CHECK(sent < (64u << 20)); // closed long before it sent anything like a large buffer
  CHECK(wait_until([&] { return budget_used(a) == 0; }, 5s));
  CHECK(read_until_closed(s.fd, 10s).has_value()); // reset: the socket is closed, not lingering
  CHECK(a.log().find("does not read") != std::string::npos);
  CHECK(a.stop() == 0);
}

TEST_CASE("idle unidentified connections filling the replication listener do not lock the configured partner out") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  // B accepts A only (does not dial); its 4 slots are filled with idle strangers first, whose
  // handshake timeout is far away.
  b.configure({{destination_spec{"A", "sync", false, {}}, &a}},
              {{"limits", {{"max_replication_connections", 4}, {"handshake_timeout_ms", 120000}}}});
  b.start();
  std::vector<socket_guard> flood(4);
  for (auto& f : flood) {
    f.fd = connect_loopback(b.ports().replication);
    REQUIRE(f.fd >= 0);
    pollfd p{f.fd, POLLIN, 0};
    REQUIRE(::poll(&p, 1, 5000) == 1); // B's hello: the connection holds a slot
  }
  a.configure({{destination_spec{"B", "sync", true, {}}, &b}});
  a.start();
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 15s),
                  "A log:\n" << a.log() << "\nB log:\n" << b.log());
  client::client_connection pc;
  REQUIRE(pc.connect("127.0.0.1", a.ports().client, "pub", 5s).empty());
  client::publisher p{pc, {"p", 16}};
  for (int i = 0; i < 10; ++i)
    REQUIRE(p.publish("t", "replicated " + std::to_string(i), 5s));
  REQUIRE(p.wait_all(15s)); // sync: acked only once B holds it
  CHECK(p.counters().persisted == 10);
  CHECK(b.status()["client_listener"]["replication_admission"].value("evicted", 0) >= 1);
  // The oldest stranger was closed with resource_limit.
  auto c = close_frame_of(flood[0].fd, 5s);
  REQUIRE(c);
  CHECK(c->code == protocol::close_code::resource_limit);
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  CHECK(b.journal_records().size() == 10);
}

TEST_CASE("a 16 MiB frame before hello on the replication port closes the connection at its header") {
  temp_dir dir;
  test_node a{dir, "A"};
  a.configure({});
  a.start();
  auto pid = pid_of(a);
  REQUIRE(pid > 0);
  const double before = rss_mib(pid);
  socket_guard s{connect_loopback(a.ports().replication)};
  REQUIRE(s.fd >= 0);
  std::string body = frame_header(sixteen_mib, protocol::frame_type::record_batch);
  body.resize(sixteen_mib - 1, 'x');
  send_some(s.fd, body, std::chrono::steady_clock::now() + 10s);
  auto c = close_frame_of(s.fd, 10s);
  REQUIRE(c);
  CHECK(c->code == protocol::close_code::resource_limit);
  CHECK(a.status()["client_listener"]["replication_admission"].value("oversized_before_hello", 0) == 1);
  const double after = rss_mib(pid);
  MESSAGE("RSS before ", before, " MiB, after a 16 MiB-1 frame before hello on the replication port ", after, " MiB");
  CHECK(after < before + 8 + asan_quarantine_mib);
  CHECK(a.stop() == 0);
}

TEST_CASE("shutdown with output queued for a client that never reads: the socket is aborted, the node exits 0 at once") {
  // CAF 0.17 frees a gracefully closed socket only once its unsent bytes are out; at shutdown a
  // peer that never reads kept it registered past the middleman's stop (LeakSanitizer: a leaked
  // scribe and the broker it refers to). tandemd shuts such sockets down once every actor ended.
  temp_dir dir;
  test_node a{dir, "A"};
  a.configure({});
  a.start();
  auto deadline = std::chrono::steady_clock::now() + 30s;
  socket_guard s = deaf_client(a.ports().client, deadline);
  // Heartbeats are answered one for one: send them, read nothing, until the node holds replies
  // it cannot send (charged to the node-wide budget), well below the connection's 32 MiB bound.
  const std::string beats = heartbeats(1000);
  while (budget_used(a) < (256u << 10) && std::chrono::steady_clock::now() < deadline)
    REQUIRE(send_some(s.fd, beats, std::min(deadline, std::chrono::steady_clock::now() + 1s)) == beats.size());
  REQUIRE(budget_used(a) >= (256u << 10));
  auto t0 = std::chrono::steady_clock::now();
  CHECK(a.stop() == 0);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  MESSAGE("stopped in ", took.count(), " ms with the deaf client's replies queued");
  CHECK(took < 1800ms); // inside the shutdown grace: not ended by the watchdog
  CHECK_MESSAGE(a.log().find("shutdown: aborted ") != std::string::npos, a.log()); // the deaf client's socket at least
  CHECK(a.log().find("stopped cleanly") != std::string::npos);
}
