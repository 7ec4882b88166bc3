#include "protocol/code_names.hpp"

namespace tandem::protocol {

std::optional<std::string_view> known_name(close_code code) {
  switch (code) {
    case close_code::normal: return "normal";
    case close_code::version_mismatch: return "version_mismatch";
    case close_code::bad_frame: return "bad_frame";
    case close_code::handshake_timeout: return "handshake_timeout";
    case close_code::duplicate_connection: return "duplicate_connection";
    case close_code::shutdown: return "shutdown";
    case close_code::unknown_instance: return "unknown_instance";
    case close_code::auth: return "auth";
    case close_code::publisher_in_use: return "publisher_in_use";
    case close_code::protocol_violation: return "protocol_violation";
    case close_code::resource_limit: return "resource_limit";
    case close_code::idle_timeout: return "idle_timeout";
    case close_code::identity_conflict: return "identity_conflict";
    case close_code::validation_failed: return "validation_failed";
  }
  return std::nullopt;
}

std::optional<std::string_view> known_name(nack_reason reason) {
  switch (reason) {
    case nack_reason::journal_error: return "journal_error";
    case nack_reason::queue_full: return "queue_full";
    case nack_reason::bad_request: return "bad_request";
    case nack_reason::not_ready: return "not_ready";
    case nack_reason::shutting_down: return "shutting_down";
    case nack_reason::topic_too_long: return "topic_too_long";
    case nack_reason::record_too_large: return "record_too_large";
    case nack_reason::invalid_field: return "invalid_field";
    case nack_reason::overloaded: return "overloaded";
    case nack_reason::not_entitled: return "not_entitled";
  }
  return std::nullopt;
}

} // namespace tandem::protocol
