// Internal to config/: instance and group names.
//
// Names appear in handshakes, file names and log lines, so they are restricted to [A-Za-z0-9._-]
// and at most 64 characters: nothing needs quoting or escaping anywhere they are used.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "config/json_reader.hpp"

namespace tandem::config::detail {

inline constexpr std::size_t max_name_length = 64;

bool is_valid_name(std::string_view s);

// read_string plus the name rule; true only for a valid name.
bool read_name(object_reader& r, std::string_view key, std::string& out, presence p);

} // namespace tandem::config::detail
