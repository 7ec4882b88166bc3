// The decision of a live reload (SIGHUP, POST /config/reload; issue 21 part 1): given the running
// config and what reading the config source again produced, apply, refuse or do nothing. Plain
// C++: the supervisor carries out an `applied` verdict (it holds the new config) and logs and
// returns the verdict; nothing here reads files or clocks.
//
//   invalid   the source could not be read or did not validate: running config kept, errors named
//   refused   valid, but a change needs a restart (config_diff.hpp): running config kept, each
//             such path named; nothing of the reload is applied
//   unchanged valid and equal to the running config
//   applied   valid, every change live: the new config is the running config from now on
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config_diff.hpp"
#include "config/config_source.hpp"

namespace tandem::config {

enum class reload_result { applied, unchanged, refused, invalid };

const char* to_string(reload_result r); // "applied", "unchanged", "refused", "invalid"

struct reload_verdict {
  reload_result result = reload_result::invalid;
  config_diff diff;                // empty unless the source validated
  std::vector<std::string> errors; // invalid: "SOURCE: path: message", or the read/--set problem

  // The one log line, e.g. "config reload refused, running config kept: a restart is required
  // for name (name: "A" -> "A2" (restart_required))".
  std::string summary() const;
  // {"result", "changes": config_diff's to_json, "restart_required": [paths], "errors": [...]}
  nlohmann::ordered_json to_json() const;
};

reload_verdict decide_reload(const node_config& running, const loaded_config& loaded);

// What an applied diff does to the destinations' actors (the supervisor carries it out): removed
// ones are stopped, added ones started, and one with a live change to a field other than its
// addresses or reconnect schedule (sync_type, topics, passthrough, downgrade_after_ms; addresses
// from or to an empty list, since an accept-only destination has no cycler) is
// restarted: its link stopped and a new one started with the new settings, which resumes from what
// the destination durably holds, so records not yet sent follow the new settings.
// `restarted` and `added` hold the new configs, in the new config's order; `removed` the names.
struct destination_plan {
  std::vector<std::string> removed;
  std::vector<destination_config> restarted;
  std::vector<destination_config> added;

  bool empty() const { return removed.empty() && restarted.empty() && added.empty(); }
};

destination_plan plan_destinations(const config_diff& diff, const node_config& next);

} // namespace tandem::config
