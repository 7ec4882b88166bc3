// Internal to config/: the "destinations" array of a node config.
#pragma once

#include <string>
#include <vector>

#include "config/json_reader.hpp"
#include "config/node_config.hpp"

namespace tandem::config::detail {

// Reads node["destinations"] (optional, default []) into `out`, checking each destination and that
// names are unique and differ from `node_name`. Destinations with errors may be left out of `out`.
void read_destinations(object_reader& node, const std::string& node_name, std::vector<destination_config>& out);

} // namespace tandem::config::detail
