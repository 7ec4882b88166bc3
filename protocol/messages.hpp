// The messages of the replication and client protocols, as plain values. Field order here is
// the wire order; docs/protocol.md has the byte layouts. Each struct names its frame type.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "protocol/frame.hpp"

namespace tandem::protocol {

inline constexpr std::uint16_t protocol_major = 1;
inline constexpr std::uint16_t protocol_minor = 0;

// ---- replication (peer listener) ----

struct hello {
  static constexpr frame_type type = frame_type::hello;
  std::uint16_t protocol_major = protocol::protocol_major;
  std::uint16_t protocol_minor = protocol::protocol_minor;
  std::string instance;               // the sender's instance name
  std::string group;
  std::uint64_t durable_from_peer = 0; // highest seq of the PEER's journal the sender holds durably; 0 = none
  std::string credentials;            // opaque, may be empty
  bool operator==(const hello&) const = default;
};

// One replicated record (owning). batch.hpp has the zero-copy record_view.
struct record {
  std::uint64_t seq = 0; // the sender's local journal sequence
  std::string origin_instance;
  std::uint64_t origin_seq = 0;
  std::string publisher_id;
  std::uint64_t publisher_seq = 0;
  std::int64_t timestamp_ns = 0;
  std::vector<std::string> path; // instances the record passed through, at most 255
  std::string topic;
  std::string payload;
  bool operator==(const record&) const = default;
};

struct record_batch {
  static constexpr frame_type type = frame_type::record_batch;
  std::vector<record> records; // never empty on the wire
  bool operator==(const record_batch&) const = default;
};

struct durable_ack {
  static constexpr frame_type type = frame_type::durable_ack;
  std::uint64_t durable_seq = 0; // highest sender-local seq of the peer made durable by the acker
  bool operator==(const durable_ack&) const = default;
};

// Shared by the replication and client listeners.
struct heartbeat {
  static constexpr frame_type type = frame_type::heartbeat;
  std::uint64_t sent_unix_ns = 0;
  bool operator==(const heartbeat&) const = default;
};

// Unknown values decode as-is (a newer minor version may add codes).
enum class close_code : std::uint16_t {
  normal = 0,
  version_mismatch = 1,
  bad_frame = 2,
  handshake_timeout = 3,
  duplicate_connection = 4,
  shutdown = 5,
  unknown_instance = 6,
  auth = 7,
};

struct close_frame {
  static constexpr frame_type type = frame_type::close;
  close_code code = close_code::normal;
  std::string reason;
  bool operator==(const close_frame&) const = default;
};

// ---- client listener ----

struct client_hello {
  static constexpr frame_type type = frame_type::client_hello;
  std::uint16_t protocol_major = protocol::protocol_major;
  std::uint16_t protocol_minor = protocol::protocol_minor;
  std::string client_name;
  bool operator==(const client_hello&) const = default;
};

struct publish {
  static constexpr frame_type type = frame_type::publish;
  std::string topic;
  std::string payload;
  std::string publisher_id;
  std::uint64_t publisher_seq = 0;
  bool operator==(const publish&) const = default;
};

struct persisted_ack {
  static constexpr frame_type type = frame_type::persisted_ack;
  std::uint64_t publisher_seq = 0;
  std::uint64_t journal_seq = 0;
  bool operator==(const persisted_ack&) const = default;
};

// Unknown values decode as-is (a newer minor version may add codes).
enum class nack_reason : std::uint16_t {
  journal_error = 1,
  queue_full = 2,
  bad_request = 3,
  not_ready = 4,
  shutting_down = 5,
};

struct negative_ack {
  static constexpr frame_type type = frame_type::negative_ack;
  std::uint64_t publisher_seq = 0;
  nack_reason reason_code = nack_reason::bad_request;
  std::string reason;
  bool operator==(const negative_ack&) const = default;
};

struct subscribe {
  static constexpr frame_type type = frame_type::subscribe;
  std::uint64_t subscription_id = 0;
  std::string topic_regex;
  bool from_flag = false;    // wire u8, 0 or 1 only
  std::uint64_t from_seq = 0; // when from_flag: replay from this journal seq, then live
  bool operator==(const subscribe&) const = default;
};

struct delivered {
  static constexpr frame_type type = frame_type::delivered;
  std::uint64_t subscription_id = 0;
  std::uint64_t seq = 0;
  std::string origin_instance;
  std::uint64_t origin_seq = 0;
  std::int64_t timestamp_ns = 0;
  std::string topic;
  std::string payload;
  bool operator==(const delivered&) const = default;
};

struct unsubscribe {
  static constexpr frame_type type = frame_type::unsubscribe;
  std::uint64_t subscription_id = 0;
  bool operator==(const unsubscribe&) const = default;
};

using message = std::variant<hello, record_batch, durable_ack, heartbeat, close_frame,
                             client_hello, publish, persisted_ack, negative_ack, subscribe,
                             delivered, unsubscribe>;

inline frame_type type_of(const message& m) noexcept {
  return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::type; }, m);
}

} // namespace tandem::protocol
