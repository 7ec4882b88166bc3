#include "client/http_get.hpp"

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tandem::client {

namespace {

using clock = std::chrono::steady_clock;

int remaining_ms(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline; false on timeout or error.
bool wait_for(int fd, short events, clock::time_point deadline) {
  pollfd p{fd, events, 0};
  for (;;) {
    int rc = ::poll(&p, 1, remaining_ms(deadline));
    if (rc > 0)
      return true;
    if (rc == 0 || errno != EINTR)
      return false;
  }
}

int connect_with_deadline(const std::string& host, std::uint16_t port, clock::time_point deadline,
                          std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  auto where = host + ":" + std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0) {
    *error = "resolve " + where + ": " + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (auto* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
      continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      *error = "connect " + where + ": " + std::strerror(errno);
      ::close(fd);
      fd = -1;
      continue;
    }
    if (!wait_for(fd, POLLOUT, deadline)) {
      *error = "connect " + where + ": timed out";
      ::close(fd);
      fd = -1;
      continue;
    }
    int soerr = 0;
    socklen_t len = sizeof soerr;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0) {
      *error = "connect " + where + ": " + std::strerror(soerr);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  return fd;
}

} // namespace

http_result http_get(const std::string& host, std::uint16_t port, const std::string& path,
                     std::chrono::milliseconds timeout, std::size_t max_bytes, const std::string& bearer_token) {
  return http_call("GET", host, port, path, timeout, max_bytes, bearer_token);
}

http_result http_call(const std::string& method, const std::string& host, std::uint16_t port,
                      const std::string& path, std::chrono::milliseconds timeout, std::size_t max_bytes,
                      const std::string& bearer_token) {
  http_result r;
  auto deadline = clock::now() + timeout;
  int fd = connect_with_deadline(host, port, deadline, &r.error);
  if (fd < 0)
    return r;
  // No body: Content-Length 0 so that a POST is complete without one.
  auto request = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n" +
                 (method == "GET" ? "" : "Content-Length: 0\r\n") +
                 (bearer_token.empty() ? "" : "Authorization: Bearer " + bearer_token + "\r\n") + "\r\n";
  std::size_t sent = 0;
  while (sent < request.size()) {
    if (!wait_for(fd, POLLOUT, deadline)) {
      r.error = "send: timed out";
      ::close(fd);
      return r;
    }
    auto n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      r.error = std::string{"send: "} + std::strerror(errno);
      ::close(fd);
      return r;
    }
    if (n > 0)
      sent += static_cast<std::size_t>(n);
  }
  std::string response;
  char buf[16384];
  for (;;) {
    if (!wait_for(fd, POLLIN, deadline)) {
      r.error = "receive: timed out";
      ::close(fd);
      return r;
    }
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0)
      break;
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        continue;
      r.error = std::string{"receive: "} + std::strerror(errno);
      ::close(fd);
      return r;
    }
    response.append(buf, static_cast<std::size_t>(n));
    if (response.size() > max_bytes) {
      r.error = "response larger than " + std::to_string(max_bytes) + " bytes";
      ::close(fd);
      return r;
    }
  }
  ::close(fd);
  auto head_end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || response.size() < 12) {
    r.error = "not an HTTP response";
    return r;
  }
  r.status = std::atoi(response.c_str() + 9);
  r.body = response.substr(head_end + 4);
  r.ok = true;
  return r;
}

} // namespace tandem::client
