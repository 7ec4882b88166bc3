// The protocol module's one error vocabulary. Every encode/decode failure is a value of this
// enum plus a message that names the frame type and the field ("record_batch: records[3].topic:
// ..."), so a log line says what a peer sent without a hex dump.
#pragma once

#include <string>
#include <system_error>

#include "protocol/error_value.hpp"

namespace tandem::protocol {

enum class errc {
  truncated = 1,   // input ends before the 4-byte header or before the declared frame length
  frame_too_large, // declared (or encoded) length exceeds max_frame_bytes
  empty_frame,     // declared length 0: not even a type byte
  unknown_type,    // type byte is not in the type table
  field_overrun,   // a field, or a count's minimum size, runs past the end of the frame
  trailing_bytes,  // bytes left after the last field, or after the declared frame end
  bad_value,       // a field holds a value outside its domain (e.g. from_flag == 2)
  field_too_long,  // a field longer than its limit (limits.hpp, names.hpp): encode and decode
                   // alike; encode also for what the wire cannot express (a string > 65535 bytes)
  empty_batch,     // a record_batch with zero records
  invalid_field,   // a field breaks its naming rule (names.hpp): not UTF-8, a character outside
                   // the rule's set, an empty instance name
};

const std::error_category& protocol_category() noexcept;
std::error_code make_error_code(errc e) noexcept;

// An error as a value: the code to branch on and the message to log (error_value.hpp).
using protocol_error = error_value<errc>;

} // namespace tandem::protocol

template <>
struct std::is_error_code_enum<tandem::protocol::errc> : std::true_type {};
