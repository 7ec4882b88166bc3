// One session with a node's client listener (docs/protocol.md; session contract: hello first,
// then pipelined publishes/subscriptions, heartbeats either way, close_frame before a close).
//
//   client_connection c;
//   if (auto err = c.connect("127.0.0.1", 27101, "me", 3s); !err.empty()) fail(err);
//   c.send(protocol::publish{...}, 1s);
//   while (auto m = c.receive(1s)) handle(*m);
//   if (!c.is_open()) fail(c.error());
//
// Blocking calls on a non-blocking socket, each bounded by its own timeout; no threads. Not
// thread-safe: one thread owns a connection. Buffers are bounded: outgoing bytes by
// max_send_buffer (send() waits for the socket when over it; a single frame may exceed it),
// incoming bytes by one partial frame of at most max_frame_bytes plus one 64 KiB read. A frame
// declaring more than max_frame_bytes fails the connection as soon as its length arrives,
// without buffering its body.
//
// TLS (issue 18, docs/security.md "TLS on the client port"): set_tls() before connect(). The
// bytes go through a tls::link_transport (OpenSSL over memory BIOs, the node's own session code)
// over the same non-blocking socket, so every timeout above holds for the handshake too: the
// ClientHello leaves with the hello frame queued behind it, and connect() returns once the node's
// client_hello arrived over TLS. The node's certificate must verify against the client's CA file
// and name an instance (URI tandem:instance/NAME) equal to the name in the node's client_hello;
// with a server name set, one of its DNS names must also match it. A plaintext port answers with
// bytes that are not TLS: connect() fails at once with "the server does not speak TLS".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "client/tcp_stream.hpp"
#include "protocol/frame.hpp"
#include "protocol/frame_reader.hpp"
#include "protocol/messages.hpp"
#include "tls/link_transport.hpp"

namespace tandem::client {

// A user of the node's auth.users_file (issue 18): sent in client_hello (protocol 1.8) by every
// connect(), so failover clients, which reconnect the same client_connection, keep them. Empty
// user and password: none sent (a node without auth needs none).
struct credentials {
  std::string user;
  std::string password;
};

// TLS to the client port (issue 18): files as the `tandem` CLI's --tls-ca, --tls-cert, --tls-key
// and --tls-server-name. ca_file empty: plaintext.
struct tls_settings {
  std::string ca_file;     // the CA that signs the nodes' certificates
  std::string cert_file;   // optional client certificate (tandem:user/NAME logs in as NAME)...
  std::string key_file;    // ...and its key
  std::string server_name; // optional: SNI, and a DNS name the node's certificate must carry
  bool enabled() const { return !ca_file.empty(); }
};

// Loads the files into a client context: "" and `out` set, or why not (naming the file).
std::string load_tls(const tls_settings& s, std::shared_ptr<const tls::context>& out);

struct connection_limits {
  std::size_t max_frame_bytes = protocol::default_max_frame_bytes; // both directions
  std::size_t max_send_buffer = 4u << 20;
};

class client_connection {
public:
  explicit client_connection(connection_limits limits = {});
  ~client_connection();
  client_connection(const client_connection&) = delete;
  client_connection& operator=(const client_connection&) = delete;

  // Connects and exchanges client_hello{1,2,client_name} within `timeout`. Returns "" on
  // success (node_name() is then the node's instance name), otherwise why, naming the endpoint:
  // refused, timed out, closed by the node (with its close code and reason, e.g. a version
  // mismatch), or an incompatible major version in the node's answer. On failure the
  // connection is closed and error() holds the same text.
  std::string connect(const std::string& host, std::uint16_t port, const std::string& client_name,
                      std::chrono::milliseconds timeout);
  // What every later connect() logs in with (a node with auth closes a bad pair with close{auth}).
  void set_credentials(credentials c) { credentials_ = std::move(c); }
  // TLS for every later connect() (null: plaintext); see the header comment.
  void set_tls(std::shared_ptr<const tls::context> ctx, std::string server_name = {}) {
    tls_ = std::move(ctx);
    tls_server_name_ = std::move(server_name);
  }
  // "TLSv1.3" while connected over TLS; "" otherwise.
  std::string tls_version() const { return transport_.version(); }

  // Encodes `m` into the send buffer and writes what the socket takes without waiting; waits
  // (up to `timeout`) only when more than max_send_buffer is buffered. False when the message
  // cannot be encoded or the connection failed (see error(); an encode error leaves the
  // connection open and usable).
  bool send(const protocol::message& m, std::chrono::milliseconds timeout);

  // Writes every buffered byte before the timeout. False on failure or timeout.
  bool flush(std::chrono::milliseconds timeout);

  // The next frame from the node, or nullopt when none arrived within `timeout` (is_open()
  // stays true) or the connection failed (is_open() false, error() says why). Keeps flushing
  // buffered output while it waits. A close_frame is returned once and closes the connection;
  // heartbeats are returned like any other frame. Frames that arrived before the node closed
  // are still returned in order.
  std::optional<protocol::message> receive(std::chrono::milliseconds timeout);

  // Sends close_frame{normal}, flushes (bounded by `timeout`) and closes. Idempotent.
  void close(std::chrono::milliseconds timeout = std::chrono::milliseconds{1000});

  bool is_open() const { return socket_.is_open(); }
  const std::string& error() const { return error_; }
  const std::string& endpoint() const { return endpoint_; } // "host:port"
  const std::string& node_name() const { return node_name_; }
  std::size_t buffered_send_bytes() const { return out_.size() - out_pos_; }
  std::size_t buffered_receive_bytes() const { return reader_.buffered(); }
  // Frames send() has accepted (encoded into the send buffer) since connect(); a send() that
  // returns false with this count increased did queue its frame.
  std::uint64_t frames_queued() const { return frames_queued_; }

private:
  bool fail(std::string why); // records why, closes the socket; returns false
  bool write_pending();       // one non-blocking write of the buffered bytes
  bool flush_until(steady_clock::time_point deadline, std::size_t keep_at_most);
  std::optional<protocol::message> next_buffered_frame();

  connection_limits limits_;
  tcp_stream socket_;
  protocol::frame_reader reader_;
  std::string out_;
  std::size_t out_pos_ = 0; // out_[0, out_pos_) is already written
  std::uint64_t frames_queued_ = 0;
  std::string endpoint_;
  std::string node_name_;
  std::string error_;
  credentials credentials_;
  std::shared_ptr<const tls::context> tls_;
  std::string tls_server_name_;
  tls::link_transport transport_; // plaintext unless tls_ was set at connect()
  std::string scratch_;           // with TLS: a frame's plaintext before encryption
};

} // namespace tandem::client
