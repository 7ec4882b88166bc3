// Internal to config/: "host:port" parsing that says what is wrong, for validation messages.
// The public entry point is parse_host_port() in config/parse.hpp.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "config/node_config.hpp"

namespace tandem::config::detail {

// The address, or a short description of why `s` is malformed ("missing port", "empty host", ...).
std::variant<host_port, std::string> check_host_port(std::string_view s);

} // namespace tandem::config::detail
