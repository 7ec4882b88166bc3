// The JSON snapshot served at GET /status. Plain function so tests can pin its shape without a node.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/node_info.hpp"

namespace tandem {

struct runtime_figures {
  std::int64_t now_unix_ms = 0;
  std::size_t running_actors = 0;
  std::size_t scheduler_threads = 0;
};

// `journal_json` is the journal actor's status object (or "null" when it did not answer).
std::string node_status_json(const node_info& info, const runtime_figures& now, const std::string& journal_json);

// Aggregates over the per-destination objects of /status ("destinations_summary"), so a node with
// many destinations reads at a glance: how many, connected (and sync ones), stalled, the largest
// lag in records and seconds and which destination has it, totals of lag, in-flight bytes and
// records sent. Fields a destination lacks count as 0 / false.
nlohmann::ordered_json destinations_summary(const nlohmann::ordered_json& destinations);

} // namespace tandem
