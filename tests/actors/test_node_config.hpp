// The node config of the actor tests that open a real journal in a temp dir (journal_runtime):
// small segments, a 1 MiB tail window, named `name`, with the destinations named in `destinations`.
#pragma once

#include <string>
#include <vector>

#include "config/node_config.hpp"

namespace tandem::test {

inline config::node_config node_config_for(const std::string& dir, const std::string& name,
                                           const std::vector<std::string>& destinations = {}) {
  config::node_config c;
  c.name = name;
  c.group = name;
  c.data_dir = dir;
  c.journal.segment_bytes = 64 * 1024;
  c.journal.tail_window_bytes = 1 << 20;
  for (const auto& d : destinations) {
    c.destinations.push_back({});
    c.destinations.back().name = d;
    c.destinations.back().group = d;
  }
  return c;
}

} // namespace tandem::test
