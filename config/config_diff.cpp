#include "config/config_diff.hpp"

#include <nlohmann/json.hpp>

#include "config/parse.hpp"

namespace tandem::config {

namespace {

using nlohmann::ordered_json;

// The keys whose change the running node applies (docs/config.md, "Live reload"); a path is live
// when it is one of them or lies below one. Everything else is read once at startup: the node's
// identity and data dir, the bound listeners, the journal runtime opened before the actors, the
// limits copied into the context every connection shares, the metrics probes bound as each actor
// starts. A destination added or removed as a whole is live too (whole_destination below). Every TLS
// key (tls.*, replication.tls, admin.tls, client.tls*, destinations[].tls*) needs a restart: a rotation
// (SIGHUP) reads the files at the configured paths again, it does not move them
// (tls/context.hpp context_holder, docs/security.md "Rotation").
const char* const live_keys[] = {
  "journal.startup_check", // only read when the node starts: recorded, used at the next start
  "log_level",             // one atomic level (actors/log.hpp)
  // Only the destination's address cycler uses them: it adopts them once no attempt is in flight
  // (its outbound connection in use is closed when the addresses change). From or to an empty
  // list (accept-only) the destination's actors are restarted instead (reload.hpp plan_destinations).
  "destinations[].addresses",
  "destinations[].reconnect",
  // The journal's ack rule takes them from the reload on (logic/journal_core.hpp), and the
  // destination's link is restarted with them (config/reload.hpp plan_destinations): records not
  // yet sent follow the new settings. Still restart_required: destinations[].instances and
  // .group (the serving-instance table and the pinned instance groups are built once), and
  // .validation and .skip_validation (every replication connection checks its peer against the
  // destination list the node started with).
  // Read where they are used (actors/replication_context.hpp, live_limits): the topic and
  // subscription limits at the next publish or subscribe, the timeouts and the unsent-output bound
  // for connections accepted from the reload on, stall_after at the next status read.
  "limits.max_topic_bytes",
  "limits.max_subscriptions_per_connection",
  "limits.handshake_timeout_ms",
  "limits.frame_timeout_ms",
  "limits.client_idle_timeout_ms",
  "limits.max_connection_buffer_bytes",
  "metrics.stall_after_ms",
  "destinations[].sync_type",
  "destinations[].topics",
  "destinations[].passthrough",
  "destinations[].downgrade_after_ms",
};

// "destinations[name=B].topics" -> "destinations[].topics": the rule does not depend on the name.
std::string unnamed(const std::string& path) {
  const auto open = path.find("[name=");
  const auto close = open == std::string::npos ? open : path.find(']', open);
  if (close == std::string::npos)
    return path;
  return path.substr(0, open + 1) + path.substr(close);
}

bool under(const std::string& path, const std::string& key) {
  if (path.compare(0, key.size(), key) != 0)
    return false;
  return path.size() == key.size() || path[key.size()] == '.' || path[key.size()] == '[';
}

void add(config_diff& d, std::string path, const ordered_json& old_value, const ordered_json& new_value) {
  const auto kind = classify(path);
  d.changes.push_back({std::move(path), old_value.dump(), new_value.dump(), kind});
}

// Leaf by leaf below objects; arrays and scalars are compared whole.
void diff_values(config_diff& d, const std::string& path, const ordered_json& a, const ordered_json& b) {
  if (a == b)
    return;
  if (!a.is_object() || !b.is_object()) {
    add(d, path, a, b);
    return;
  }
  for (const auto& [key, value] : a.items())
    diff_values(d, path.empty() ? key : path + "." + key, value, b.contains(key) ? b.at(key) : ordered_json{});
  for (const auto& [key, value] : b.items())
    if (!a.contains(key))
      add(d, path.empty() ? key : path + "." + key, ordered_json{}, value);
}

const ordered_json* find_named(const ordered_json& list, const std::string& name) {
  for (const auto& item : list)
    if (item.at("name") == name)
      return &item;
  return nullptr;
}

// Destinations are matched by name: a reordering changes nothing.
void diff_destinations(config_diff& d, const ordered_json& running, const ordered_json& next) {
  for (const auto& r : running) {
    const auto name = r.at("name").get<std::string>();
    const auto path = "destinations[name=" + name + "]";
    if (const auto* n = find_named(next, name))
      diff_values(d, path, r, *n);
    else
      add(d, path, r, ordered_json{});
  }
  for (const auto& n : next)
    if (!find_named(running, n.at("name").get<std::string>()))
      add(d, "destinations[name=" + n.at("name").get<std::string>() + "]", ordered_json{}, n);
}

} // namespace

const char* to_string(change_kind k) {
  return k == change_kind::live ? "live" : "restart_required";
}

bool config_diff::reloadable() const {
  for (const auto& c : changes)
    if (c.kind == change_kind::restart_required)
      return false;
  return true;
}

std::vector<std::string> config_diff::refused_paths() const {
  std::vector<std::string> paths;
  for (const auto& c : changes)
    if (c.kind == change_kind::restart_required)
      paths.push_back(c.path);
  return paths;
}

std::string describe(const config_change& c) {
  return c.path + ": " + c.old_value + " -> " + c.new_value + " (" + to_string(c.kind) + ")";
}

ordered_json to_json(const config_diff& d) {
  auto out = ordered_json::array();
  for (const auto& c : d.changes)
    out.push_back({{"path", c.path},
                   {"old", ordered_json::parse(c.old_value)},
                   {"new", ordered_json::parse(c.new_value)},
                   {"kind", to_string(c.kind)}});
  return out;
}

change_kind classify(const std::string& path) {
  if (unnamed(path) == "destinations[]") // added or removed as a whole (diff_destinations)
    return change_kind::live;
  for (const char* key : live_keys)
    if (under(unnamed(path), key))
      return change_kind::live;
  return change_kind::restart_required;
}

config_diff diff(const node_config& running, const node_config& next) {
  const auto a = to_json(running);
  const auto b = to_json(next);
  config_diff d;
  for (const auto& [key, value] : a.items()) {
    if (key == "destinations")
      diff_destinations(d, value, b.at(key));
    else
      diff_values(d, key, value, b.at(key));
  }
  return d;
}

} // namespace tandem::config
