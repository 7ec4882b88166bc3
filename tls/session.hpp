// One TLS connection as a plain object over memory buffers (issue 18; docs/security.md): the
// broker that owns the socket feeds it the ciphertext it reads and writes out the ciphertext it
// takes; the protocol above sends and receives plaintext. No sockets, no threads, no clocks: tests
// connect two sessions by moving bytes between them. OpenSSL does the work through two memory
// BIOs (the network side of each session is a byte buffer).
//
//   [ handshaking ] --handshake done--> [ established ] --close_notify either way--> [ closed ]
//          |                                   |
//          +------ any TLS error, a peer certificate that does not verify, ----+--> [ failed ]
//                  plaintext where TLS was expected
//
// Failing fast on the wrong protocol: a server session whose first 3 bytes are not a TLS
// handshake record (0x16 0x03 0x00-0x04) fails at once with "plaintext peer on a TLS port" instead
// of waiting for a handshake that never comes; a client session whose server answers with
// anything but a handshake or alert record fails with "the server does not speak TLS". (The
// reverse, a TLS ClientHello reaching a plaintext port, is recognised by looks_like_tls().)
//
// Plaintext sent before the handshake completes is buffered and sent once it does; the caller
// bounds it (pending_plaintext()). Ciphertext to send accumulates until take_ciphertext().
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tls/context.hpp"

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace tandem::tls {

enum class role { client, server };
enum class state { handshaking, established, closed, failed };
const char* to_string(state s) noexcept;

// The first bytes of a TLS ClientHello: a handshake record whose record version is TLS 1.0-1.3
// (0x16 0x03 0x01..0x04). Needs 3 bytes; fewer is "not yet known" (false). SSL 3.0 (0x03 0x00) is
// not TLS here: no client sends it any more, and on a plaintext port a Tandem frame's length is
// little-endian, so a 790-byte frame (0x316) starts 0x16 0x03 0x00 and must not be taken for TLS.
bool looks_like_tls(std::string_view first_bytes) noexcept;

struct session_options {
  // Server side: a client must present a certificate that verifies (replication: always). When
  // false a certificate is optional, and verified when presented (the client listener).
  bool require_peer_certificate = true;
  // Client side: the server name to send (SNI) and to check against the certificate's DNS names;
  // empty: no name check (the caller checks the instance URI).
  std::string server_name;
};

class session {
public:
  session(std::shared_ptr<const context> ctx, role r, session_options o = {});
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Ciphertext read from the network. Decrypted bytes become available to take_plaintext().
  void receive(std::string_view ciphertext);
  // Plaintext to send; encrypted at once when established, else when the handshake completes.
  void send(std::string_view plaintext);
  // Sends close_notify (the peer's session turns closed); nothing is sent after it.
  void close();

  std::string take_plaintext();  // decrypted bytes received so far
  std::string take_ciphertext(); // bytes to write to the socket

  state current() const noexcept { return state_; }
  bool established() const noexcept { return state_ == state::established; }
  bool failed() const noexcept { return state_ == state::failed; }
  const std::string& error() const noexcept { return error_; } // set when failed
  // Failed because the peer does not speak TLS at all (its first bytes), not in a handshake.
  bool wrong_protocol() const noexcept { return wrong_protocol_; }
  // The peer's certificate, once established (a client that presented none: nullopt).
  const std::optional<certificate_facts>& peer() const noexcept { return peer_; }
  std::string version() const; // "TLSv1.3" once established, "" before
  std::size_t pending_plaintext() const noexcept { return pending_.size(); }
  const context& ctx() const noexcept { return *ctx_; }

private:
  void pump();
  void handshake();
  void read_all();
  void write_pending();
  void fail(std::string why);
  bool check_first_bytes(std::string_view ciphertext);

  std::shared_ptr<const context> ctx_;
  role role_;
  SSL* ssl_ = nullptr;
  BIO* net_in_ = nullptr;  // ciphertext from the network, read by OpenSSL
  BIO* net_out_ = nullptr; // ciphertext written by OpenSSL, for the network
  state state_ = state::handshaking;
  std::string error_;
  std::string first_;      // the first bytes received, until looks_like_tls can decide
  bool first_checked_ = false;
  bool wrong_protocol_ = false;
  std::string pending_;    // plaintext waiting for the handshake
  std::string plaintext_;  // decrypted, not yet taken
  std::optional<certificate_facts> peer_;
};

} // namespace tandem::tls
