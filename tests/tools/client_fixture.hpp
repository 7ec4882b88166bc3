// Small helpers of the client-port integration tests (auth_test, client_tls_test): a cheap
// password hash for users files, and the next frame that is not a heartbeat.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "config/password_hash.hpp"

namespace tandem::test {

// A cheap hash (N=1024): the cost is the users file's; the tests need no 50 ms per login.
inline std::string hash_of(const std::string& password) {
  auto h = config::make_password_hash(password, {1024, 8, 1});
  REQUIRE(h);
  return config::to_string(*h);
}

// The next frame that is not a heartbeat, within 10 s (nullopt: none, or the connection failed).
inline std::optional<protocol::message> next_frame(client::client_connection& c) {
  using namespace std::chrono_literals;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    auto m = c.receive(1s);
    if (m && std::holds_alternative<protocol::heartbeat>(*m))
      continue;
    if (m || !c.is_open())
      return m;
  }
  return std::nullopt;
}

} // namespace tandem::test
