// Internal to config/: instance and group names.
//
// Names appear in handshakes, file names and log lines, so they are restricted to [A-Za-z0-9._-]
// and at most 64 characters: nothing needs quoting or escaping anywhere they are used. The rule
// itself lives in protocol/names.hpp, which the decoder applies to every name a peer sends, so a
// name a node can be configured with is exactly a name its peers accept.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "config/json_reader.hpp"
#include "protocol/names.hpp"

namespace tandem::config::detail {

inline constexpr std::size_t max_name_length = protocol::names::max_instance_name_bytes;

bool is_valid_name(std::string_view s);

// read_string plus the name rule; true only for a valid name.
bool read_name(object_reader& r, std::string_view key, std::string& out, presence p);

} // namespace tandem::config::detail
