#include "protocol/names.hpp"

#include <algorithm>
#include <cstdio>

#include "protocol/limits.hpp"
#include "protocol/utf8.hpp"

namespace tandem::protocol::names {
namespace {

std::string byte_at(std::string_view s, std::size_t i) {
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", static_cast<unsigned>(static_cast<unsigned char>(s[i])));
  return "byte " + std::string{hex} + " at offset " + std::to_string(i);
}

violation too_long(std::string_view s, std::size_t max) {
  return {errc::field_too_long, std::to_string(s.size()) + " bytes exceed the maximum of " + std::to_string(max)};
}

std::optional<violation> check_utf8(std::string_view s) {
  if (auto at = utf8::first_invalid(s))
    return violation{errc::invalid_field, "not valid UTF-8 (" + byte_at(s, *at) + ")"};
  return std::nullopt;
}

} // namespace

bool is_valid_instance_name(std::string_view s) noexcept {
  return !s.empty() && s.size() <= max_instance_name_bytes && std::all_of(s.begin(), s.end(), is_instance_name_char);
}

std::optional<violation> check_instance_name(std::string_view s) {
  if (s.empty())
    return violation{errc::invalid_field, "an instance name must not be empty"};
  if (s.size() > max_instance_name_bytes)
    return too_long(s, max_instance_name_bytes);
  auto bad = std::find_if_not(s.begin(), s.end(), is_instance_name_char);
  if (bad != s.end())
    return violation{errc::invalid_field, byte_at(s, static_cast<std::size_t>(bad - s.begin())) +
                                            " is not one of A-Z a-z 0-9 . _ -"};
  return std::nullopt;
}

std::optional<violation> check_label(std::string_view s) {
  if (s.size() > limits::max_name_bytes)
    return too_long(s, limits::max_name_bytes);
  if (auto v = check_utf8(s))
    return v;
  // Well-formed, so a C1 control (U+0080..U+009F) can only appear as C2 80..C2 9F.
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    const bool c1 = b == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9f;
    if (b < 0x20 || b == 0x7f || c1)
      return violation{errc::invalid_field, "control character (" + byte_at(s, i) + ")"};
  }
  return std::nullopt;
}

std::optional<violation> check_text(std::string_view s, std::size_t max_bytes) {
  if (s.size() > max_bytes)
    return too_long(s, max_bytes);
  return check_utf8(s);
}

} // namespace tandem::protocol::names
