#include "client/client_connection.hpp"

#include <poll.h>

#include <array>
#include <utility>

#include "client/code_names.hpp"
#include "protocol/codec.hpp"
#include "protocol/version.hpp"

namespace tandem::client {

namespace {

constexpr std::size_t read_chunk = 64 * 1024;

steady_clock::time_point deadline_after(std::chrono::milliseconds timeout) {
  return steady_clock::now() + timeout;
}

} // namespace

std::string load_tls(const tls_settings& s, std::shared_ptr<const tls::context>& out) {
  if (s.cert_file.empty() != s.key_file.empty())
    return s.cert_file.empty() ? "a TLS key without a certificate (--tls-cert)" : "a TLS certificate without its key (--tls-key)";
  auto loaded = tls::context::load({s.cert_file, s.key_file, s.ca_file});
  if (auto* err = std::get_if<std::string>(&loaded))
    return "TLS: " + *err;
  out = std::get<std::shared_ptr<const tls::context>>(std::move(loaded));
  return {};
}

client_connection::client_connection(connection_limits limits)
  : limits_(limits), reader_(limits.max_frame_bytes) {}

client_connection::~client_connection() {
  close(std::chrono::milliseconds{100});
}

bool client_connection::fail(std::string why) {
  if (socket_.is_open() || error_.empty()) // the failure that closed the socket is the one reported
    error_ = std::move(why);
  socket_.close();
  return false;
}

std::string client_connection::connect(const std::string& host, std::uint16_t port,
                                       const std::string& client_name,
                                       std::chrono::milliseconds timeout) {
  auto deadline = deadline_after(timeout);
  socket_.close();
  reader_ = protocol::frame_reader{limits_.max_frame_bytes};
  out_.clear();
  out_pos_ = 0;
  error_.clear();
  node_name_.clear();
  frames_queued_ = 0;
  endpoint_ = host + ":" + std::to_string(port);
  transport_ = tls_ ? tls::link_transport{tls_, tls::role::client, {true, tls_server_name_}} : tls::link_transport{};
  if (transport_.failed()) {
    fail(endpoint_ + ": TLS: " + transport_.error());
    return error_;
  }
  if (auto err = socket_.connect(host, port, deadline); !err.empty()) {
    fail(err);
    return error_;
  }
  out_ = transport_.start(); // the ClientHello; the hello frame follows once the handshake completed
  if (!send(protocol::client_hello{protocol::protocol_major, protocol::protocol_minor, client_name,
                                   credentials_.user, credentials_.password},
            timeout))
    return error_;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    auto m = receive(left.count() > 0 ? left : std::chrono::milliseconds{0});
    if (!m) {
      if (is_open())
        fail(endpoint_ + ": timed out waiting for the node's client_hello");
      else
        error_ = endpoint_ + ": no client_hello from the node: " + error_;
      socket_.close();
      return error_;
    }
    if (std::holds_alternative<protocol::heartbeat>(*m))
      continue;
    if (std::holds_alternative<protocol::close_frame>(*m))
      return error_; // receive() recorded the node's code and reason
    if (auto* h = std::get_if<protocol::client_hello>(&*m)) {
      auto v = protocol::check_version(*h);
      if (!v.compatible) {
        fail(endpoint_ + ": version mismatch: " + v.message);
        return error_;
      }
      node_name_ = h->client_name;
      if (transport_.tls()) { // the certificate must be this node's (see the header)
        const auto cert = transport_.peer();
        const auto named = cert ? tls::instance_of(*cert) : std::nullopt;
        if (named != std::optional<std::string>{node_name_}) {
          fail(endpoint_ + ": TLS: the node's certificate names " +
               (named ? "instance " + *named : std::string{"no tandem:instance/NAME"}) + ", its hello says " + node_name_);
          node_name_.clear();
          return error_;
        }
      }
      return {};
    }
    fail(endpoint_ + ": expected client_hello, got " +
         std::string{protocol::frame_type_name(protocol::type_of(*m))});
    return error_;
  }
}

bool client_connection::write_pending() {
  if (out_pos_ == out_.size())
    return true;
  auto r = socket_.write_some(std::string_view{out_}.substr(out_pos_));
  if (r.closed)
    return fail(endpoint_ + ": " + r.error);
  out_pos_ += r.bytes;
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  } else if (out_pos_ > out_.size() / 2) {
    out_.erase(0, out_pos_); // keeps the buffer's size bounded by what is still unsent
    out_pos_ = 0;
  }
  return true;
}

bool client_connection::flush_until(steady_clock::time_point deadline, std::size_t keep_at_most) {
  while (buffered_send_bytes() > keep_at_most) {
    if (!is_open())
      return false;
    if (!write_pending())
      return false;
    if (buffered_send_bytes() <= keep_at_most)
      break;
    auto ev = socket_.wait(false, true, deadline);
    if (ev == 0)
      return false; // timed out: the bytes stay buffered, the connection stays open
    if (ev & (POLLERR | POLLHUP)) {
      write_pending(); // reports the socket's error
      return fail(endpoint_ + ": connection lost while sending");
    }
  }
  return true;
}

bool client_connection::send(const protocol::message& m, std::chrono::milliseconds timeout) {
  if (!is_open()) {
    if (error_.empty())
      error_ = "not connected";
    return false;
  }
  if (transport_.tls())
    scratch_.clear();
  auto encoded = protocol::encode(m, transport_.tls() ? scratch_ : out_, limits_.max_frame_bytes);
  if (encoded && transport_.tls()) {
    out_ += transport_.send(scratch_);
    if (transport_.failed())
      return fail(endpoint_ + ": TLS: " + transport_.error());
  }
  if (!encoded) {
    error_ = "cannot send " + std::string{protocol::frame_type_name(protocol::type_of(m))} + ": " +
             encoded.error().message;
    return false;
  }
  ++frames_queued_;
  if (!write_pending())
    return false;
  if (buffered_send_bytes() > limits_.max_send_buffer &&
      !flush_until(deadline_after(timeout), limits_.max_send_buffer)) {
    if (is_open())
      error_ = endpoint_ + ": send timed out with " + std::to_string(buffered_send_bytes()) +
               " bytes unsent";
    return false;
  }
  return true;
}

bool client_connection::flush(std::chrono::milliseconds timeout) {
  return flush_until(deadline_after(timeout), 0);
}

std::optional<protocol::message> client_connection::next_buffered_frame() {
  auto frame = reader_.next();
  if (!frame)
    return std::nullopt;
  auto decoded = protocol::decode(*frame, limits_.max_frame_bytes);
  if (!decoded) {
    fail(endpoint_ + ": bad frame from the node: " + decoded.error().message);
    reader_ = protocol::frame_reader{limits_.max_frame_bytes}; // drop the rest: it is untrusted
    return std::nullopt;
  }
  if (auto* c = std::get_if<protocol::close_frame>(&decoded.value())) {
    // The node's own reason beats whatever failure (e.g. a reset) closed the socket first.
    error_ = endpoint_ + " closed the connection (" + close_code_name(c->code) + "): " + c->reason;
    socket_.close();
  }
  return std::move(decoded).value();
}

std::optional<protocol::message> client_connection::receive(std::chrono::milliseconds timeout) {
  auto deadline = deadline_after(timeout);
  std::array<char, read_chunk> buffer;
  for (;;) {
    if (auto m = next_buffered_frame())
      return m;
    if (reader_.failed()) {
      fail(endpoint_ + ": " + reader_.error().message);
      return std::nullopt;
    }
    if (!is_open())
      return std::nullopt;
    bool want_write = buffered_send_bytes() > 0;
    auto ev = socket_.wait(true, want_write, deadline);
    if (ev == 0)
      return std::nullopt;
    // Read before writing: a node that closed may have left a close_frame to read, and a write
    // to its closed socket would fail first with a less useful "Broken pipe".
    if (ev & (POLLIN | POLLHUP | POLLERR)) {
      auto r = socket_.read_some(buffer.data(), buffer.size());
      if (r.bytes > 0) {
        auto in = transport_.receive(std::string_view{buffer.data(), r.bytes});
        out_ += in.to_write; // TLS: handshake messages, alerts
        if (transport_.failed()) {
          fail(endpoint_ + ": TLS: " + transport_.error());
          return std::nullopt;
        }
        reader_.feed(in.plaintext);
      }
      if (r.closed)
        fail(endpoint_ + ": " + r.error);
    }
    if ((ev & POLLOUT) && is_open())
      write_pending(); // on failure the loop still returns frames already buffered first
  }
}

void client_connection::close(std::chrono::milliseconds timeout) {
  if (!is_open())
    return;
  if (send(protocol::close_frame{protocol::close_code::normal, "client closing"}, timeout))
    flush(timeout);
  socket_.close();
}

} // namespace tandem::client
