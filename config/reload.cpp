#include "config/reload.hpp"

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
