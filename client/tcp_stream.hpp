// A connected, non-blocking TCP socket whose every operation takes a deadline: the blocking
// primitive under client_connection. Plain POSIX (poll), no threads. Errors are strings that
// name the endpoint and the step ("connect 127.0.0.1:27101: Connection refused").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::client {

using steady_clock = std::chrono::steady_clock;

class tcp_stream {
public:
  tcp_stream() = default;
  ~tcp_stream() { close(); }
  tcp_stream(tcp_stream&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  tcp_stream& operator=(tcp_stream&& other) noexcept;
  tcp_stream(const tcp_stream&) = delete;
  tcp_stream& operator=(const tcp_stream&) = delete;

  // Resolves host and connects (TCP_NODELAY) before the deadline. "" on success, else why.
  std::string connect(const std::string& host, std::uint16_t port, steady_clock::time_point deadline);

  bool is_open() const { return fd_ >= 0; }
  void close();

  // Outcome of one I/O step: bytes moved (0 = would block), or closed/failed with a message.
  struct io_result {
    std::size_t bytes = 0;
    bool closed = false; // peer closed (read) or the socket failed; `error` says which
    std::string error;
  };
  // One non-blocking send / recv (never waits).
  io_result write_some(std::string_view bytes);
  io_result read_some(char* buffer, std::size_t capacity);

  // Waits until readable (and, when want_write, or writable) or the deadline. Returns the
  // poll revents (0 on timeout). POLLHUP/POLLERR count as readable: read_some() will say why.
  short wait(bool want_read, bool want_write, steady_clock::time_point deadline) const;

private:
  int fd_ = -1;
};

} // namespace tandem::client
