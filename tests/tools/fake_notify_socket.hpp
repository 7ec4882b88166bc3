// A fake service manager for sd_notify tests: the test binds the NOTIFY_SOCKET datagram socket
// itself and reads what the notifier sends, every read bounded by a deadline.
#pragma once

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <doctest/doctest.h>

namespace tandem::test {

using steady = std::chrono::steady_clock;

// The service manager's end: a datagram socket bound at DIR/notify, read with deadlines.
class fake_notify_socket {
public:
  explicit fake_notify_socket(const std::string& dir) : path_{dir + "/notify"} {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    REQUIRE(path_.size() < sizeof addr.sun_path);
    path_.copy(addr.sun_path, path_.size());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }
  ~fake_notify_socket() { ::close(fd_); }
  const std::string& path() const { return path_; }

  struct datagram {
    std::string text;
    steady::time_point at;
  };
  // The next datagram, or nullopt at the deadline.
  std::optional<datagram> next(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1)
      return std::nullopt;
    char buf[4096];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0)
      return std::nullopt;
    return datagram{std::string(buf, static_cast<std::size_t>(n)), steady::now()};
  }
  // Reads datagrams until one contains `needle` (returned) or the deadline passes; every
  // datagram read, that one included, is appended to *seen.
  std::optional<datagram> until(const std::string& needle, std::chrono::milliseconds timeout,
                                std::vector<datagram>* seen) {
    auto deadline = steady::now() + timeout;
    while (steady::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      auto d = next(std::max(left, std::chrono::milliseconds{1}));
      if (!d)
        break;
      seen->push_back(*d);
      if (d->text.find(needle) != std::string::npos)
        return d;
    }
    return std::nullopt;
  }

private:
  std::string path_;
  int fd_ = -1;
};

// Whether any datagram in `seen` contains `needle`.
inline bool contains(const std::vector<fake_notify_socket::datagram>& seen, const std::string& needle) {
  return std::any_of(seen.begin(), seen.end(), [&](const auto& d) { return d.text.find(needle) != std::string::npos; });
}

} // namespace tandem::test
