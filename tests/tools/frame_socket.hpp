// Reading protocol frames from a raw test socket (scripted peers of the integration tests).
#pragma once

#include <chrono>
#include <string>

#include <poll.h>
#include <sys/socket.h>

#include <doctest/doctest.h>

#include "protocol/frame_reader.hpp"

namespace tandem::test {

// Waits for bytes on `fd` until `deadline` and feeds what arrives to `reader`. False at the
// deadline or when the other side closed.
inline bool receive_some(int fd, protocol::frame_reader& reader, std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  pollfd p{fd, POLLIN, 0};
  if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
    return false;
  std::string buf(64 * 1024, '\0');
  const auto n = ::recv(fd, buf.data(), buf.size(), 0);
  if (n <= 0)
    return false;
  buf.resize(static_cast<std::size_t>(n));
  REQUIRE(reader.feed(buf));
  return true;
}

} // namespace tandem::test
