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

bool wait_fd(int fd, short events) {
  pollfd p{fd, events, 0};
  int rc;
  do
    rc = ::poll(&p, 1, static_cast<int>(io_timeout.count()));
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
  thread_ = std::thread([this, s = std::move(s)] {
    if (!wait_fd(listen_fd_, POLLIN)) {
      problems_.push_back("no connection");
      return;
    }
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      problems_.push_back("accept failed");
      return;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    node_side node{fd};
    s(node);
    for (auto& p : node.problems())
      problems_.push_back(p);
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

} // namespace tandem::test
