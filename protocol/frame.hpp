// Framing: every message on a replication or client connection is one frame
//
//   u32 length (little-endian) | u8 type | body (length - 1 bytes)
//
// `length` counts the bytes after the length field (type byte + body), so it is never 0, and a
// frame occupies 4 + length bytes. max_frame_bytes bounds `length`; a declared length over it is
// detectable from the first 4 bytes, before any body is buffered. docs/protocol.md is the spec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "protocol/errc.hpp"
#include "protocol/result.hpp"

namespace tandem::protocol {

inline constexpr std::size_t frame_header_bytes = 4;                   // the u32 length
inline constexpr std::size_t default_max_frame_bytes = 16 * 1024 * 1024; // bound on `length`

// Type byte values. Replication frames use 0x01-0x0F, client frames 0x20-0x2F; heartbeat is
// shared by both listeners. Values are wire format: never renumber, only add.
enum class frame_type : std::uint8_t {
  hello = 0x01,
  record_batch = 0x02,
  durable_ack = 0x03,
  heartbeat = 0x04,
  close = 0x05,
  validation = 0x06, // protocol 1.4
  digest_request = 0x08, // protocol 1.5 (anti-entropy)
  digest_reply = 0x09,   // protocol 1.5 (anti-entropy)
  repair_batch = 0x0A,   // protocol 1.6 (anti-entropy repair)
  repair_ack = 0x0C,     // protocol 1.6 (anti-entropy repair)
  compressed_batch = 0x0B, // protocol 1.7 (link compression)
  client_hello = 0x20,
  publish = 0x21,
  persisted_ack = 0x22,
  negative_ack = 0x23,
  subscribe = 0x24,
  delivered = 0x25,
  unsubscribe = 0x26,
  publisher_logon = 0x27,
  publisher_logon_ack = 0x28,
  subscribe_from = 0x29,
  subscription_gap = 0x2A, // protocol 1.1
  persisted_partial = 0x2B, // protocol 1.2
  replicated = 0x2C,        // protocol 1.2
  waiting = 0x2D,           // protocol 1.2
};

bool is_known_frame_type(std::uint8_t byte) noexcept;
// "hello", "record_batch", ...; "unknown" for a byte outside the table.
std::string_view frame_type_name(frame_type t) noexcept;

// Outcome of looking at the front of a byte stream.
struct need_more {
  std::size_t bytes; // at least this many more bytes are needed before the frame is complete
};
struct frame_ready {
  std::size_t size; // the first `size` bytes (header included) are one complete frame
};
using peek_result = std::variant<need_more, frame_ready, protocol_error>;

// Looks only at the length field: errc::empty_frame or errc::frame_too_large as soon as the
// 4 header bytes are present, otherwise need_more or frame_ready. The type byte and body are
// left to decode(). Pure; never reads past `buffered`.
peek_result peek_frame(std::string_view buffered,
                       std::size_t max_frame_bytes = default_max_frame_bytes);

// A frame split into its type and body (the bytes after the type byte; views into the input).
struct frame_parts {
  frame_type type;
  std::string_view body;
};

// Checks that `frame` is exactly one whole frame of a known type: errc::truncated (shorter than
// the header or the declared length), empty_frame, frame_too_large, trailing_bytes (longer than
// the declared length), unknown_type. The body is not inspected.
result<frame_parts> split_frame(std::string_view frame,
                                std::size_t max_frame_bytes = default_max_frame_bytes);

} // namespace tandem::protocol
