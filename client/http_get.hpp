// A minimal blocking HTTP GET for the `tandem` CLI and the tests: connect, send, read until the
// server closes, all within one deadline. Not for use on a CAF scheduler thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tandem::client {

struct http_result {
  bool ok = false;    // a complete HTTP response arrived
  int status = 0;     // e.g. 200
  std::string body;   // without headers
  std::string error;  // why not ok, e.g. "connect 127.0.0.1:27102: Connection refused"
};

// `bearer_token`: sent as "Authorization: Bearer TOKEN" when not empty (admin.token_file, issue 18).
http_result http_get(const std::string& host, std::uint16_t port, const std::string& path,
                     std::chrono::milliseconds timeout, std::size_t max_bytes = 16u << 20,
                     const std::string& bearer_token = {});
// The same with another method and no body (e.g. POST /destinations/B/downgrade).
http_result http_call(const std::string& method, const std::string& host, std::uint16_t port,
                      const std::string& path, std::chrono::milliseconds timeout, std::size_t max_bytes = 16u << 20,
                      const std::string& bearer_token = {});

} // namespace tandem::client
