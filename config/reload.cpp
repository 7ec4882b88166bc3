#include "config/reload.hpp"

#include <optional>
#include <set>
#include <utility>

namespace tandem::config {

namespace {

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& item : items)
    out += (out.empty() ? "" : sep) + item;
  return out;
}

std::vector<std::string> described(const config_diff& d) {
  std::vector<std::string> out;
  for (const auto& c : d.changes)
    out.push_back(describe(c));
  return out;
}

} // namespace

const char* to_string(reload_result r) {
  switch (r) {
    case reload_result::applied: return "applied";
    case reload_result::unchanged: return "unchanged";
    case reload_result::refused: return "refused";
    case reload_result::invalid: return "invalid";
  }
  return "invalid";
}

std::string reload_verdict::summary() const {
  switch (result) {
    case reload_result::applied:
      return "config reload applied " + std::to_string(diff.changes.size()) + " change(s): " + join(described(diff), "; ");
    case reload_result::unchanged:
      return "config reload: the config is unchanged; nothing to apply";
    case reload_result::refused:
      return "config reload refused, running config kept: a restart is required for "
             + join(diff.refused_paths(), ", ") + " (" + join(described(diff), "; ") + ")";
    case reload_result::invalid:
      break;
  }
  return "config reload refused, running config kept: the config is invalid: " + join(errors, "; ");
}

nlohmann::ordered_json reload_verdict::to_json() const {
  return {{"result", config::to_string(result)},
          {"changes", config::to_json(diff)},
          {"restart_required", diff.refused_paths()},
          {"errors", errors}};
}

namespace {

// "destinations[name=B].topics" -> {"B", "topics"}; "destinations[name=B]" -> {"B", ""}; not a
// destination path: nullopt.
std::optional<std::pair<std::string, std::string>> destination_path(const std::string& path) {
  const std::string prefix = "destinations[name=";
  if (path.compare(0, prefix.size(), prefix) != 0)
    return std::nullopt;
  const auto close = path.find(']', prefix.size());
  if (close == std::string::npos)
    return std::nullopt;
  auto rest = path.substr(close + 1);
  if (!rest.empty() && rest[0] == '.')
    rest.erase(0, 1);
  return std::pair{path.substr(prefix.size(), close - prefix.size()), rest.substr(0, rest.find_first_of(".["))};
}

// Addresses and the reconnect schedule go to the running cycler, unless the addresses change from
// or to an empty list: an accept-only destination has no cycler, so its actors are restarted.
bool restarts_link(const std::string& field, const config_change& c) {
  if (field == "reconnect")
    return false;
  if (field == "addresses")
    return c.old_value == "[]" || c.new_value == "[]";
  return true;
}

} // namespace

destination_plan plan_destinations(const config_diff& diff, const node_config& next) {
  std::set<std::string> removed, added, restarted;
  for (const auto& c : diff.changes) {
    const auto p = destination_path(c.path);
    if (!p)
      continue;
    if (p->second.empty())
      (c.new_value == "null" ? removed : added).insert(p->first);
    else if (restarts_link(p->second, c))
      restarted.insert(p->first);
  }
  destination_plan plan;
  plan.removed.assign(removed.begin(), removed.end());
  for (const auto& d : next.destinations) {
    if (added.count(d.name))
      plan.added.push_back(d);
    else if (restarted.count(d.name))
      plan.restarted.push_back(d);
  }
  return plan;
}

reload_verdict decide_reload(const node_config& running, const loaded_config& loaded) {
  reload_verdict v;
  if (!loaded.problem.empty()) {
    v.errors.push_back(loaded.problem);
    return v;
  }
  if (!loaded.result.ok()) {
    for (const auto& e : loaded.result.errors)
      v.errors.push_back(loaded.source + ": " + e.to_string());
    return v;
  }
  v.diff = diff(running, *loaded.result.config);
  if (v.diff.empty())
    v.result = reload_result::unchanged;
  else
    v.result = v.diff.reloadable() ? reload_result::applied : reload_result::refused;
  return v;
}

} // namespace tandem::config
