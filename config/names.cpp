#include "config/names.hpp"

namespace tandem::config::detail {

bool is_valid_name(std::string_view s) { return protocol::names::is_valid_instance_name(s); }

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
