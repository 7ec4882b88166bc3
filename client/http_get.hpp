// A minimal blocking HTTP GET for the `tandem` CLI and the tests: connect, send, read until the
// server closes, all within one deadline. Not for use on a CAF scheduler thread. Over TLS when
// given a client context (an admin port with admin.tls; docs/security.md): a tls::session over
// the socket, the handshake inside the same deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace tandem::tls {
class context;
}

namespace tandem::client {

struct http_result {
  bool ok = false;    // a complete HTTP response arrived
  int status = 0;     // e.g. 200
  std::string body;   // without headers
  std::string error;  // why not ok, e.g. "connect 127.0.0.1:27102: Connection refused"
};

// TLS to the admin port: the client context (client::load_tls; null: plaintext) and an optional
// server name (SNI, and a DNS name the certificate must carry). The node's certificate must verify
// against the context's CA file.
struct http_tls {
  std::shared_ptr<const tls::context> ctx;
  std::string server_name;
};

// `bearer_token`: sent as "Authorization: Bearer TOKEN" when not empty (admin.token_file, issue 18).
http_result http_get(const std::string& host, std::uint16_t port, const std::string& path,
                     std::chrono::milliseconds timeout, std::size_t max_bytes = 16u << 20,
                     const std::string& bearer_token = {}, const http_tls& tls = {});
// The same with another method and no body (e.g. POST /destinations/B/downgrade).
http_result http_call(const std::string& method, const std::string& host, std::uint16_t port,
                      const std::string& path, std::chrono::milliseconds timeout, std::size_t max_bytes = 16u << 20,
                      const std::string& bearer_token = {}, const http_tls& tls = {});

} // namespace tandem::client
