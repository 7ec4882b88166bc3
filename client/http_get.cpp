#include "client/http_get.hpp"

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls/session.hpp"

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

// Writes all of `bytes` before the deadline; "" or why not.
std::string send_all(int fd, const std::string& bytes, clock::time_point deadline) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    if (!wait_for(fd, POLLOUT, deadline))
      return "send: timed out";
    auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      return std::string{"send: "} + std::strerror(errno);
    if (n > 0)
      sent += static_cast<std::size_t>(n);
  }
  return "";
}

// Reads what the socket has (waiting until the deadline): bytes appended to `into`; 0 at the
// server's close; -1 with `error` set.
long receive_some(int fd, std::string& into, clock::time_point deadline, std::string& error) {
  char buf[16384];
  for (;;) {
    if (!wait_for(fd, POLLIN, deadline)) {
      error = "receive: timed out";
      return -1;
    }
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      continue;
    if (n < 0) {
      error = std::string{"receive: "} + std::strerror(errno);
      return -1;
    }
    into.append(buf, static_cast<std::size_t>(n));
    return n;
  }
}

// Sends the request and reads the whole response (until the server closes), through TLS when
// `tls.ctx` is set; "" or why not.
std::string exchange(int fd, const std::string& request, const http_tls& tls, clock::time_point deadline,
                     std::size_t max_bytes, std::string& response) {
  const auto too_large = [&] { return "response larger than " + std::to_string(max_bytes) + " bytes"; };
  std::string error;
  if (!tls.ctx) {
    if (error = send_all(fd, request, deadline); !error.empty())
      return error;
    for (;;) {
      const auto n = receive_some(fd, response, deadline, error);
      if (n < 0)
        return error;
      if (n == 0)
        return "";
      if (response.size() > max_bytes)
        return too_large();
    }
  }
  tls::session s{tls.ctx, tls::role::client, {true, tls.server_name}};
  s.send(request); // buffered until the handshake completes
  std::string ciphertext;
  for (;;) {
    if (error = send_all(fd, s.take_ciphertext(), deadline); !error.empty())
      return error;
    if (s.failed())
      return "TLS: " + s.error();
    ciphertext.clear();
    const auto n = receive_some(fd, ciphertext, deadline, error);
    if (n < 0)
      return error;
    if (n == 0) // the server closed (after its response, or at once: a refused handshake)
      return s.established() ? "" : "TLS: the server closed the connection during the handshake";
    s.receive(ciphertext);
    response += s.take_plaintext();
    if (response.size() > max_bytes)
      return too_large();
    if (s.current() == tls::state::closed) // close_notify after the response
      return "";
  }
}

} // namespace

http_result http_get(const std::string& host, std::uint16_t port, const std::string& path,
                     std::chrono::milliseconds timeout, std::size_t max_bytes, const std::string& bearer_token,
                     const http_tls& tls) {
  return http_call("GET", host, port, path, timeout, max_bytes, bearer_token, tls);
}

http_result http_call(const std::string& method, const std::string& host, std::uint16_t port,
                      const std::string& path, std::chrono::milliseconds timeout, std::size_t max_bytes,
                      const std::string& bearer_token, const http_tls& tls) {
  http_result r;
  auto deadline = clock::now() + timeout;
  int fd = connect_with_deadline(host, port, deadline, &r.error);
  if (fd < 0)
    return r;
  // No body: Content-Length 0 so that a POST is complete without one.
  auto request = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n" +
                 (method == "GET" ? "" : "Content-Length: 0\r\n") +
                 (bearer_token.empty() ? "" : "Authorization: Bearer " + bearer_token + "\r\n") + "\r\n";
  std::string response;
  r.error = exchange(fd, request, tls, deadline, max_bytes, response);
  if (!r.error.empty()) {
    ::close(fd);
    return r;
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
