#include "fake_node.hpp"

#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "protocol/codec.hpp"

namespace tandem::test {

namespace {

bool wait_fd(int fd, short events, std::chrono::milliseconds timeout = io_timeout) {
  pollfd p{fd, events, 0};
  int rc;
  do
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  while (rc < 0 && errno == EINTR);
  return rc > 0;
}

} // namespace

std::optional<protocol::message> node_side::read() {
  char buf[65536];
  for (;;) {
    if (auto f = reader_.next()) {
      auto m = protocol::decode(*f);
      if (!m) {
        expect(false, "client sent a bad frame: " + m.error().message);
        return std::nullopt;
      }
      return std::move(m).value();
    }
    if (fd_ < 0 || reader_.failed() || !wait_fd(fd_, POLLIN))
      return std::nullopt;
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      return std::nullopt;
    reader_.feed(std::string_view{buf, static_cast<std::size_t>(n)});
  }
}

bool node_side::write(const protocol::message& m) {
  std::string out;
  if (!protocol::encode(m, out)) {
    expect(false, "fake node cannot encode its own frame");
    return false;
  }
  return write_raw(out);
}

bool node_side::write_raw(std::string_view bytes, const std::vector<std::size_t>& pieces) {
  std::size_t piece = 0;
  while (!bytes.empty()) {
    auto want = pieces.empty() ? bytes.size() : std::min(bytes.size(), pieces[piece++ % pieces.size()]);
    if (fd_ < 0 || !wait_fd(fd_, POLLOUT))
      return false;
    auto n = ::send(fd_, bytes.data(), want, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool node_side::answer_hello(const std::string& name) {
  auto m = read();
  auto* h = m ? std::get_if<protocol::client_hello>(&*m) : nullptr;
  expect(h != nullptr, "first frame from the client is a client_hello");
  if (h == nullptr)
    return false;
  hello = *h;
  return write(protocol::client_hello{1, 0, name});
}

std::optional<std::string> node_side::answer_logon(std::uint64_t highest_seq) {
  auto m = read();
  auto* l = m ? std::get_if<protocol::publisher_logon>(&*m) : nullptr;
  expect(l != nullptr, "a publisher_logon follows the hello");
  if (l == nullptr)
    return std::nullopt;
  write(protocol::publisher_logon_ack{l->publisher_id, highest_seq});
  return l->publisher_id;
}

void node_side::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

void node_side::expect(bool ok, const std::string& what) {
  if (ok)
    return;
  std::lock_guard lock{mutex_};
  problems_.push_back(what);
}

std::vector<std::string> node_side::problems() const {
  std::lock_guard lock{mutex_};
  return problems_;
}

fake_node::fake_node(script s) {
  std::vector<script> one;
  one.push_back(std::move(s));
  start(std::move(one), false);
}

fake_node::fake_node(std::vector<script> scripts) { start(std::move(scripts), true); }

void fake_node::start(std::vector<script> scripts, bool close_listener_after) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 4) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    problems_.push_back("fake node cannot listen");
    return;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this, scripts = std::move(scripts), close_listener_after] {
    for (std::size_t i = 0; i < scripts.size() && !stop_; ++i) {
      // Wait in short slices so stop_accepting() ends the wait early; io_timeout in total.
      bool ready = false;
      for (auto waited = std::chrono::milliseconds{0}; !ready && !stop_ && waited < io_timeout;
           waited += std::chrono::milliseconds{20})
        ready = wait_fd(listen_fd_, POLLIN, std::chrono::milliseconds{20});
      if (!ready) {
        if (!stop_)
          problems_.push_back(i == 0 ? "no connection" : "no connection " + std::to_string(i + 1));
        break;
      }
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        problems_.push_back("accept failed");
        break;
      }
      ++connections_;
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      node_side node{fd};
      scripts[i](node);
      for (auto& p : node.problems())
        problems_.push_back(p);
    }
    if (close_listener_after) {
      ::close(listen_fd_);
      listen_fd_ = -1;
    }
  });
}

std::vector<std::string> fake_node::join() {
  if (thread_.joinable())
    thread_.join();
  return problems_;
}

fake_node::~fake_node() {
  join();
  if (listen_fd_ >= 0)
    ::close(listen_fd_);
}

refusing_port::refusing_port() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
}

refusing_port::~refusing_port() {
  if (fd_ >= 0)
    ::close(fd_);
}

} // namespace tandem::test
