// The Prometheus exposition served at GET /metrics: the figures of the /status document (journal,
// destination links, address cyclers, client listener, actor count) mapped onto metric families,
// plus the process metrics from /proc. Plain C++, no CAF, so tests feed it a canned status document.
//
// Values are mirrored, not counted here: every exposition sets each series from the status
// document it is given, so the owners (journal actor, links, cyclers) stay the single source of
// truth. A figure missing from the document (an actor that did not answer in time) keeps the
// value of the previous exposition. Destinations are those of the config (live reloads add and
// remove them), so label cardinality is bounded by it: the series of a destination no longer in
// the document are removed at the next exposition.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "actors/metrics/registry.hpp"

namespace tandem {

class node_metrics {
public:
  // Registers every family. Throws std::logic_error only if a name is rejected (a programming error).
  node_metrics();
  node_metrics(const node_metrics&) = delete;
  node_metrics& operator=(const node_metrics&) = delete;

  // `status` is the document GET /status serves. Returns text format 0.0.4 (content type
  // content_type below).
  std::string expose(const nlohmann::json& status);

  static constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

  struct families; // the family pointers, defined and filled in node_metrics.cpp

private:
  metrics::registry registry_;
  // Owned here; the pointers inside point into registry_, which outlives them.
  std::shared_ptr<families> f_;
};

} // namespace tandem
