// What a live reload would change (issue 21, part 1): the difference between the running config
// and a newly loaded one, path by path, each change classified as applied live or needing a
// restart. Plain C++; tandemd's reload (actors/supervisor.cpp) and `tandemd --check-config FILE
// --diff RUNNING.json` both ask it. docs/config.md, "Live reload", is the rule in prose.
//
// Paths use the notation of config errors ("journal.sync", "limits.max_frame_bytes"), except that
// a destination is named, not numbered, because a reload may reorder, add or remove them:
// "destinations[name=B].topics". A destination added or removed is one change at
// "destinations[name=B]" (old or new is "null"); a changed one gives one change per field.
//
// Worked example: running {name A, journal.startup_check full, destinations [B sync]}, new {name
// A2, startup_check tail, destinations [B async, C]} gives, in this order: name "A" -> "A2"
// restart_required; group "A" -> "A2" (it defaults to the name) restart_required;
// journal.startup_check "full" -> "tail" live; destinations[name=B].sync_type "sync" -> "async"
// live; destinations[name=C] null -> {...} live. reloadable() is false (name).
//
// The classification is what this build applies (classify()): a reload that would need more is
// refused rather than half applied.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node_config.hpp"

namespace tandem::config {

enum class change_kind {
  live,             // the running node applies it without a restart
  restart_required, // a reload that contains it is refused as a whole
};

const char* to_string(change_kind k); // "live" / "restart_required"

struct config_change {
  std::string path;
  std::string old_value; // compact JSON of the running value; "null" when added
  std::string new_value; // compact JSON of the new value; "null" when removed
  change_kind kind = change_kind::live;

  friend bool operator==(const config_change&, const config_change&) = default;
};

struct config_diff {
  // Top-level keys in node_config order, then destinations: the running ones in config order
  // (changed or removed), then the added ones in the new config's order.
  std::vector<config_change> changes;

  bool empty() const { return changes.empty(); }
  // No change needs a restart: a reload applies every change.
  bool reloadable() const;
  // The paths of the restart_required changes, in order (what a refusal names).
  std::vector<std::string> refused_paths() const;
};

// The difference from `running` to `next` (both as produced by parse_config()).
config_diff diff(const node_config& running, const node_config& next);

// One line for the log and the CLI: `name: "A" -> "A2" (restart_required)`.
std::string describe(const config_change& c);

// [{"path", "old", "new", "kind"}, ...] with old and new as JSON values (the POST response).
nlohmann::ordered_json to_json(const config_diff& d);

// How a change at `path` is applied (the per-key rule of docs/config.md, "Live reload").
change_kind classify(const std::string& path);

} // namespace tandem::config
