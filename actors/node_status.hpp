// The JSON snapshot served at GET /status. Plain function so tests can pin its shape without a node.
#pragma once

#include <cstdint>
#include <string>

#include "actors/node_info.hpp"

namespace tandem {

struct runtime_figures {
  std::int64_t now_unix_ms = 0;
  std::size_t running_actors = 0;
  std::size_t scheduler_threads = 0;
};

// `journal_json` is the journal actor's status object (or "null" when it did not answer).
std::string node_status_json(const node_info& info, const runtime_figures& now, const std::string& journal_json);

} // namespace tandem
