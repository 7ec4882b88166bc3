#include "protocol/errc.hpp"

namespace tandem::protocol {
namespace {

const char* describe(errc e) noexcept {
  switch (e) {
    case errc::truncated: return "truncated frame";
    case errc::frame_too_large: return "frame larger than the maximum frame size";
    case errc::empty_frame: return "frame length 0 (no type byte)";
    case errc::unknown_type: return "unknown frame type";
    case errc::field_overrun: return "field runs past the end of the frame";
    case errc::trailing_bytes: return "trailing bytes after the last field";
    case errc::bad_value: return "field value out of range";
    case errc::field_too_long: return "field longer than its limit";
    case errc::empty_batch: return "record batch without records";
    case errc::invalid_field: return "field breaks its naming rule";
  }
  return "unknown protocol error";
}

} // namespace

const std::error_category& protocol_category() noexcept {
  static const errc_category<errc> instance{"tandem.protocol", describe};
  return instance;
}

std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), protocol_category()};
}

} // namespace tandem::protocol
