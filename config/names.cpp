#include "config/names.hpp"

#include <algorithm>

namespace tandem::config::detail {

namespace {

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

} // namespace

bool is_valid_name(std::string_view s) {
  return !s.empty() && s.size() <= max_name_length && std::all_of(s.begin(), s.end(), is_name_char);
}

bool read_name(object_reader& r, std::string_view key, std::string& out, presence p) {
  if (!r.read_string(key, out, p))
    return false;
  if (is_valid_name(out))
    return true;
  r.error(key, "must be 1 to " + std::to_string(max_name_length) + " characters from A-Z a-z 0-9 . _ -, got " +
                 quote(out));
  return false;
}

} // namespace tandem::config::detail
