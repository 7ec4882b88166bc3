// The byte path of one replication or client connection (issue 18, docs/security.md):
// with no TLS context the bytes pass through as they are; with one they go through a tls::session.
// A plain object (no sockets, no clocks): the broker feeds it what it reads and writes out what it
// returns, so the connection code stays the same for both.
//
// Fail fast on the wrong protocol, both ways, from the first bytes and without waiting for a
// timeout: a TLS link whose peer speaks plaintext fails (the session's rule); a plaintext link
// whose first 3 bytes are a TLS ClientHello record (0x16 0x03 0x01..0x04, looks_like_tls) fails with "TLS client
// on a plaintext replication port" (read as a little-endian frame length, those bytes claim a
// frame of more than 64 KiB, refused before the hello as resource_limit: a message that does not
// say what is wrong).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tls/session.hpp"

namespace tandem::tls {

class link_transport {
public:
  link_transport() = default; // plaintext
  link_transport(std::shared_ptr<const context> ctx, role r, session_options o = {});

  struct received {
    std::string_view plaintext; // bytes for the frame reader; valid until the next call
    std::string to_write;       // bytes to write to the socket at once (handshake, alerts)
  };
  // Bytes read from the socket. After it, failed() says whether the connection must close.
  received receive(std::string_view bytes);
  // Plaintext to send; returns the bytes to write to the socket (with TLS, possibly none until the
  // handshake completes: the session keeps them and returns them from a later receive()).
  std::string send(std::string_view plaintext);
  // Bytes to write at the start (a client's ClientHello; nothing for a server or plaintext).
  std::string start();

  bool tls() const noexcept { return session_ != nullptr; }
  bool failed() const noexcept { return !error_.empty(); }
  const std::string& error() const noexcept { return error_; }
  // Failed because the peer speaks the other protocol (plaintext on TLS, a ClientHello on
  // plaintext), judged from its first bytes: the client listener answers it with a plaintext
  // close frame that says so.
  bool wrong_protocol() const noexcept { return session_ ? session_->wrong_protocol() : failed(); }
  // The peer's certificate once the handshake completed (nullopt: plaintext or not yet).
  std::optional<certificate_facts> peer() const;
  // "TLSv1.3" once established; "" for plaintext or before.
  std::string version() const { return session_ ? session_->version() : std::string{}; }

private:
  std::unique_ptr<session> session_;
  std::string first_; // plaintext links: the first bytes, until looks_like_tls can decide
  bool first_checked_ = false;
  std::string error_;
  std::string plaintext_; // TLS links: the last decrypted bytes (received::plaintext points here)
};

} // namespace tandem::tls
