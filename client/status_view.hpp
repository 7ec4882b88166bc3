// What `tandem status` shows of a node's GET /status document, as plain functions over JSON so
// tests drive them with canned documents: the one-shot summary, and the --watch frame whose rates
// come from the difference of two consecutive snapshots. No sockets, no clock: the caller fetches
// the documents and says how many seconds lay between them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tandem::client {

// One destination of a watch frame. An empty optional is a figure the snapshots cannot give (a
// missing field, no earlier snapshot, a counter that went backwards) and renders as "-".
struct destination_row {
  std::string name;
  std::string sync_type;
  std::string state; // "connected", "down" or "STALLED" (stalled wins: it is the alarm)
  std::optional<double> stalled_for_s;
  std::optional<double> records_sent_per_s;
  std::optional<double> acked_per_s; // records the destination acknowledged, per second
  std::optional<double> bytes_sent_per_s;
  std::optional<std::uint64_t> lag_records;
  std::optional<double> lag_seconds;
  // Issue 17 part 2 (a destination is a group of servers): the instance serving it now ("" when
  // none or not said), and when it changed since the previous snapshot of the same process (a
  // failover), the one that served before ("" when the change happened and came back between two
  // snapshots: the failovers counter grew).
  std::string serving_instance;
  std::optional<std::string> failover_from;
};

struct status_rates {
  std::optional<double> journal_append_per_s; // from journal.committer.records
  std::vector<destination_row> destinations;  // in the order of the newer snapshot
};

// Rates between two /status snapshots taken `elapsed_s` seconds apart; `before` is null for the
// first frame. A rate is never negative: when a counter went backwards, or the node restarted in
// between (its pid or start time changed), the rate is unknown rather than wrong.
status_rates diff_status(const nlohmann::json& before, const nlohmann::json& now, double elapsed_s);

// The one-shot `tandem status` text: node summary, the destinations table, and the inbound table
// (per origin: records held, highest origin seq, last received time and age, via which peer and
// address; from /status "inbound", issue 17). A destination that is a group of servers (more
// than one in /status "instances") gets a line naming the serving instance, its address, and each
// instance's connection. Per destination a checks line: a downgrade, the replication validation
// result with its problems, and the anti-entropy state with the first differing range.
std::string render_status(const nlohmann::json& status);

// One `tandem status --watch` frame: the same node summary, the journal append rate and the
// destinations with their rates, lag, state and serving instance, a "failover" event line per
// destination whose serving instance changed since `before`, the checks lines, and the inbound table with records
// received per second per origin.
std::string render_status_watch(const nlohmann::json& before, const nlohmann::json& now, double elapsed_s);

} // namespace tandem::client
