#include "client/tcp_stream.hpp"

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tandem::client {

namespace {

int remaining_ms(steady_clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - steady_clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

short poll_one(int fd, short events, steady_clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0)
      return p.revents;
    if (rc == 0 || errno != EINTR)
      return 0;
  }
}

} // namespace

tcp_stream& tcp_stream::operator=(tcp_stream&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void tcp_stream::close() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

std::string tcp_stream::connect(const std::string& host, std::uint16_t port,
                                steady_clock::time_point deadline) {
  close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto where = host + ":" + std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    return "resolve " + where + ": " + ::gai_strerror(rc);
  std::string error = "connect " + where + ": no address";
  for (auto* ai = res; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = "socket: " + std::string{std::strerror(errno)};
      continue;
    }
    int soerr = 0;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        soerr = errno;
      } else if (poll_one(fd, POLLOUT, deadline) == 0) {
        error = "connect " + where + ": timed out";
        ::close(fd);
        continue;
      } else {
        socklen_t len = sizeof soerr;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
      }
    }
    if (soerr != 0) {
      error = "connect " + where + ": " + std::strerror(soerr);
      ::close(fd);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fd_ = fd;
  }
  ::freeaddrinfo(res);
  return fd_ >= 0 ? std::string{} : error;
}

tcp_stream::io_result tcp_stream::write_some(std::string_view bytes) {
  io_result r;
  if (fd_ < 0) {
    r.closed = true;
    r.error = "not connected";
    return r;
  }
  auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  if (n >= 0) {
    r.bytes = static_cast<std::size_t>(n);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    r.closed = true;
    r.error = std::string{"send: "} + std::strerror(errno);
  }
  return r;
}

tcp_stream::io_result tcp_stream::read_some(char* buffer, std::size_t capacity) {
  io_result r;
  if (fd_ < 0) {
    r.closed = true;
    r.error = "not connected";
    return r;
  }
  auto n = ::recv(fd_, buffer, capacity, 0);
  if (n > 0) {
    r.bytes = static_cast<std::size_t>(n);
  } else if (n == 0) {
    r.closed = true;
    r.error = "connection closed by the node";
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    r.closed = true;
    r.error = std::string{"receive: "} + std::strerror(errno);
  }
  return r;
}

short tcp_stream::wait(bool want_read, bool want_write, steady_clock::time_point deadline) const {
  if (fd_ < 0)
    return 0;
  short events = static_cast<short>((want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0));
  return poll_one(fd_, events, deadline);
}

} // namespace tandem::client
