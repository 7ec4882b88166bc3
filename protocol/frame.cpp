#include "protocol/frame.hpp"

#include <string>

#include "protocol/wire.hpp"

namespace tandem::protocol {

bool is_known_frame_type(std::uint8_t byte) noexcept {
  return frame_type_name(static_cast<frame_type>(byte)) != "unknown";
}

std::string_view frame_type_name(frame_type t) noexcept {
  switch (t) {
    case frame_type::hello: return "hello";
    case frame_type::record_batch: return "record_batch";
    case frame_type::durable_ack: return "durable_ack";
    case frame_type::heartbeat: return "heartbeat";
    case frame_type::close: return "close";
    case frame_type::validation: return "validation";
    case frame_type::digest_request: return "digest_request";
    case frame_type::digest_reply: return "digest_reply";
    case frame_type::repair_batch: return "repair_batch";
    case frame_type::repair_ack: return "repair_ack";
    case frame_type::compressed_batch: return "compressed_batch";
    case frame_type::client_hello: return "client_hello";
    case frame_type::publish: return "publish";
    case frame_type::persisted_ack: return "persisted_ack";
    case frame_type::negative_ack: return "negative_ack";
    case frame_type::subscribe: return "subscribe";
    case frame_type::delivered: return "delivered";
    case frame_type::unsubscribe: return "unsubscribe";
    case frame_type::publisher_logon: return "publisher_logon";
    case frame_type::publisher_logon_ack: return "publisher_logon_ack";
    case frame_type::subscribe_from: return "subscribe_from";
    case frame_type::subscription_gap: return "subscription_gap";
    case frame_type::persisted_partial: return "persisted_partial";
    case frame_type::replicated: return "replicated";
    case frame_type::waiting: return "waiting";
  }
  return "unknown";
}

peek_result peek_frame(std::string_view buffered, std::size_t max_frame_bytes) {
  if (buffered.size() < frame_header_bytes)
    return need_more{frame_header_bytes - buffered.size()};
  const std::uint32_t length = wire::load_u32(buffered.data());
  if (length == 0)
    return protocol_error{errc::empty_frame, "frame header: length 0 (no type byte)"};
  if (length > max_frame_bytes)
    return protocol_error{errc::frame_too_large,
                          "frame header: length " + std::to_string(length) + " exceeds maximum " +
                            std::to_string(max_frame_bytes)};
  const std::size_t total = frame_header_bytes + length;
  if (buffered.size() < total)
    return need_more{total - buffered.size()};
  return frame_ready{total};
}

result<frame_parts> split_frame(std::string_view frame, std::size_t max_frame_bytes) {
  auto peeked = peek_frame(frame, max_frame_bytes);
  if (auto* err = std::get_if<protocol_error>(&peeked))
    return std::move(*err);
  if (std::holds_alternative<need_more>(peeked))
    return protocol_error{errc::truncated,
                          "frame: have " + std::to_string(frame.size()) + " bytes, need " +
                            std::to_string(frame.size() + std::get<need_more>(peeked).bytes)};
  const std::size_t total = std::get<frame_ready>(peeked).size;
  if (frame.size() != total)
    return protocol_error{errc::trailing_bytes,
                          "frame: " + std::to_string(frame.size() - total) +
                            " bytes after the declared frame end"};
  const auto type_byte = static_cast<std::uint8_t>(frame[frame_header_bytes]);
  if (!is_known_frame_type(type_byte)) {
    static constexpr char hex[] = "0123456789abcdef";
    return protocol_error{errc::unknown_type, std::string{"frame: unknown type byte 0x"} +
                                                hex[type_byte >> 4] + hex[type_byte & 0xf]};
  }
  return frame_parts{static_cast<frame_type>(type_byte), frame.substr(frame_header_bytes + 1)};
}

} // namespace tandem::protocol
