// The rules for names and text that arrive on the wire, checked by the decoder (codec.hpp,
// batch.hpp) on every field, and by config/ for the names a node is configured with -- one rule
// in one place, so a name a node can be given is exactly a name its peers accept.
//
//   rule            fields                                         allows
//   instance name   hello.instance, hello.group, record origin and  1..64 bytes of A-Z a-z 0-9 . _ -
//                   path entries, delivered/bookmark origin
//   label           publisher ids, client_hello.client_name         0..255 bytes of UTF-8, no control
//                                                                   characters (U+0000..U+001F,
//                                                                   U+007F..U+009F)
//   text            topics (0..65535 bytes), topic regexes,         UTF-8
//                   close and negative_ack reasons
//
// Why each: instance names become file names, metric labels and map keys and are compared
// byte-wise, so they need no quoting anywhere; publisher ids and client names are chosen by
// applications (the CLI's holds a host name) and only need to be printable and JSON-safe;
// topics are matched by RE2 in UTF-8 mode and shown in JSON, where invalid UTF-8 throws.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/errc.hpp"

namespace tandem::protocol::names {

inline constexpr std::size_t max_instance_name_bytes = 64;

constexpr bool is_instance_name_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

bool is_valid_instance_name(std::string_view s) noexcept;

// Why a value breaks its rule. `code` is errc::field_too_long for a length and
// errc::invalid_field for content. `what` describes the offending byte by offset and hex value
// and never quotes the value itself: it goes into log lines and close frames, which must stay
// clean text whatever the peer sent.
struct violation {
  errc code;
  std::string what;
};

std::optional<violation> check_instance_name(std::string_view s);
std::optional<violation> check_label(std::string_view s);
std::optional<violation> check_text(std::string_view s, std::size_t max_bytes);

} // namespace tandem::protocol::names
