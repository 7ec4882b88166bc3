#include "config/destinations.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <variant>

#include "config/host_port.hpp"
#include "config/names.hpp"
#include "config/pattern.hpp"
#include "protocol/compression.hpp"
#include "protocol/limits.hpp"

namespace tandem::config::detail {

namespace {

using nlohmann::json;

// The routing code compiles the same patterns with the same function (config/pattern.hpp), so a
// pattern accepted here cannot fail there.
std::optional<std::string> regex_problem(const std::string& source) {
  if (source.size() > protocol::limits::max_pattern_bytes) // the validation frame carries it (protocol 1.4)
    return "pattern of " + std::to_string(source.size()) + " bytes exceeds the maximum of " +
           std::to_string(protocol::limits::max_pattern_bytes);
  auto compiled = pattern::compile(source);
  if (auto* error = std::get_if<std::string>(&compiled))
    return "invalid regex " + quote(source) + ": " + *error;
  return std::nullopt;
}

void read_sync_type(object_reader& r, sync_type& out) {
  std::string text;
  if (!r.read_string("sync_type", text, presence::required))
    return;
  if (text == "sync")
    out = sync_type::sync;
  else if (text == "async")
    out = sync_type::async;
  else
    r.error("sync_type", "expected \"sync\" or \"async\", got " + quote(text));
}

void read_addresses(object_reader& r, std::vector<host_port>& out) {
  const json* list = r.array("addresses", presence::required);
  if (!list)
    return;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto path = element_path(r.path_of("addresses"), i);
    std::string text;
    if (!read_string_at((*list)[i], path, text, r.errors()))
      continue;
    auto checked = check_host_port(text);
    if (auto* address = std::get_if<host_port>(&checked))
      out.push_back(std::move(*address));
    else
      r.errors().push_back({path, quote(text) + ": " + std::get<std::string>(checked)});
  }
}

void read_passthrough(object_reader& r, std::vector<std::string>& out) {
  const json* list = r.array("passthrough");
  if (!list)
    return;
  if (list->size() > protocol::limits::max_passthrough_patterns)
    return r.error("passthrough", "at most " + std::to_string(protocol::limits::max_passthrough_patterns) +
                                    " patterns, got " + std::to_string(list->size()));
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto path = element_path(r.path_of("passthrough"), i);
    std::string pattern;
    if (!read_string_at((*list)[i], path, pattern, r.errors()))
      continue;
    if (auto problem = regex_problem(pattern))
      r.errors().push_back({path, *problem});
    else
      out.push_back(std::move(pattern));
  }
}

void read_reconnect(object_reader& destination, reconnect_config& out) {
  auto r = destination.object("reconnect");
  if (!r)
    return;
  bool initial_ok = r->read_uint("initial_ms", out.initial_ms, 1) || !r->has("initial_ms");
  bool max_ok = r->read_uint("max_ms", out.max_ms, 1) || !r->has("max_ms");
  if (r->read_number("multiplier", out.multiplier) && !(out.multiplier >= 1.0))
    r->error("multiplier", "must be at least 1.0, got " + json(out.multiplier).dump());
  if (r->read_number("jitter", out.jitter) && !(out.jitter >= 0.0 && out.jitter < 1.0))
    r->error("jitter", "must be in [0, 1), got " + json(out.jitter).dump());
  r->read_uint("connect_timeout_ms", out.connect_timeout_ms, 1);
  // Compared only when both values are the user's (or defaults): after a rejected value the default
  // stands in and the comparison would blame the wrong thing.
  if (initial_ok && max_ok && out.max_ms < out.initial_ms)
    r->error("max_ms", "max_ms (" + std::to_string(out.max_ms) + (r->has("max_ms") ? "" : ", the default") +
                         ") is less than initial_ms (" + std::to_string(out.initial_ms) + ")");
  r->report_unknown_keys();
}

// "instances": names by the naming rule, unique in the list, at most max_destination_instances.
// Absent: the destination's own name (the pre-issue-17 meaning: name = the peer's instance name).
void read_instances(object_reader& r, const std::string& name, std::vector<std::string>& out) {
  const json* list = r.array("instances");
  if (!list) {
    if (!r.has("instances") && !name.empty())
      out.push_back(name);
    return;
  }
  if (list->empty() || list->size() > max_destination_instances) {
    r.error("instances", "must list 1 to " + std::to_string(max_destination_instances) + " instance names, got " +
                           std::to_string(list->size()));
    return;
  }
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto path = element_path(r.path_of("instances"), i);
    std::string instance;
    if (!read_string_at((*list)[i], path, instance, r.errors()))
      continue;
    if (!is_valid_name(instance))
      r.errors().push_back({path, "must be 1 to " + std::to_string(max_name_length) +
                                    " characters from A-Z a-z 0-9 . _ -, got " + quote(instance)});
    else if (std::find(out.begin(), out.end(), instance) != out.end())
      r.errors().push_back({path, "duplicate instance " + quote(instance)});
    else
      out.push_back(std::move(instance));
  }
}

void read_validation_mode(object_reader& r, validation_mode& out) {
  std::string text;
  if (!r.read_string("validation", text))
    return;
  if (text == "strict")
    out = validation_mode::strict;
  else if (text == "warn")
    out = validation_mode::warn;
  else
    r.error("validation", "expected \"strict\" or \"warn\", got " + quote(text));
}

// "skip_validation": names of validation_checks, each once; "identity" is never skipped (two
// live nodes with one name can make a partner believe acks that were never given).
void read_skip_validation(object_reader& r, std::vector<std::string>& out) {
  const json* list = r.array("skip_validation");
  if (!list)
    return;
  for (std::size_t i = 0; i < list->size(); ++i) {
    auto path = element_path(r.path_of("skip_validation"), i);
    std::string check;
    if (!read_string_at((*list)[i], path, check, r.errors()))
      continue;
    const auto known = std::find(validation_checks.begin(), validation_checks.end(), check);
    if (known == validation_checks.end())
      r.errors().push_back({path, "unknown validation check " + quote(check) +
                                    " (one of back_replication, topics, group, passthrough)"});
    else if (check == "identity")
      r.errors().push_back({path, "the identity check cannot be skipped (close identity_conflict)"});
    else if (std::find(out.begin(), out.end(), check) != out.end())
      r.errors().push_back({path, "duplicate check " + quote(check)});
    else
      out.push_back(std::move(check));
  }
}

// "compression" and "compression_level" (issue 20): the level is checked against the algorithm's
// range (protocol/compression.hpp) and defaults to the algorithm's own default.
void read_compression(object_reader& r, destination_config& d) {
  if (r.read_string("compression", d.compression) && !protocol::compression_from_string(d.compression)) {
    r.error("compression", "expected \"none\", \"lz4\" or \"zstd\", got " + quote(d.compression));
    d.compression = "none";
  }
  const auto algorithm = protocol::compression_from_string(d.compression).value_or(protocol::compression_algorithm::none);
  const auto levels = protocol::levels_of(algorithm);
  d.compression_level = static_cast<std::uint32_t>(levels.fallback);
  if (!r.has("compression_level"))
    return;
  if (algorithm == protocol::compression_algorithm::none) {
    // 0 is what the normalized config says for none; anything else needs an algorithm.
    std::uint32_t level = 0;
    if (r.read_uint("compression_level", level, 0) && level != 0)
      r.error("compression_level", "set without a compression (\"lz4\" or \"zstd\")");
    return;
  }
  if (!r.read_uint("compression_level", d.compression_level, static_cast<std::uint64_t>(levels.min),
                   static_cast<std::uint64_t>(levels.max)))
    d.compression_level = static_cast<std::uint32_t>(levels.fallback);
}

destination_config read_destination(object_reader& r) {
  destination_config d;
  read_name(r, "name", d.name, presence::required);
  if (!read_name(r, "group", d.group, presence::optional))
    d.group = d.name;
  read_instances(r, d.name, d.instances);
  read_sync_type(r, d.type);
  read_addresses(r, d.addresses);
  read_passthrough(r, d.passthrough);
  if (r.read_string("topics", d.topics))
    if (auto problem = regex_problem(d.topics))
      r.error("topics", *problem);
  read_reconnect(r, d.reconnect);
  r.read_uint("downgrade_after_ms", d.downgrade_after_ms, 0, max_downgrade_after_ms);
  read_validation_mode(r, d.validation);
  read_skip_validation(r, d.skip_validation);
  read_compression(r, d);
  r.read_bool("tls", d.tls);
  if (r.read_string("tls_server_name", d.tls_server_name) && !d.tls && !d.tls_server_name.empty())
    r.error("tls_server_name", "is used only with \"tls\": true");
  r.report_unknown_keys();
  return d;
}

// An instance serves at most one destination (a hello must name one link) and is never this node.
// Only the instances listed explicitly are checked here: an absent list is {name}, which the name
// checks above already cover.
void check_instance_owners(object_reader& r, object_reader& node, const std::string& node_name,
                           const destination_config& d, std::size_t index,
                           std::map<std::string, std::size_t>& owner) {
  const bool listed = r.has("instances");
  for (std::size_t k = 0; k < d.instances.size(); ++k) {
    const auto& instance = d.instances[k];
    const auto path = listed ? element_path(r.path_of("instances"), k) : r.path_of("name");
    if (listed && !node_name.empty() && instance == node_name)
      r.errors().push_back({path, quote(instance) + " is this node's own name; a node does not replicate to itself"});
    auto [first, inserted] = owner.emplace(instance, index);
    if (!inserted && first->second != index)
      r.errors().push_back({path, "instance " + quote(instance) + " already serves " +
                                    element_path(node.path_of("destinations"), first->second) +
                                    " (an instance serves at most one destination)"});
  }
}

// An instance of one destination may not be another destination's name: a connection dialed for a
// destination reports its end by the destination's name before the peer said who it is
// (replication_connection.hpp), so one name must mean one destination. A destination listed
// without `instances` is its own name, which check_instance_owners covers already.
// `at[i]`: the index in the JSON array of all[i] (destinations without a name are left out).
void check_names_against_instances(object_reader& node, const std::vector<destination_config>& all,
                                   const std::vector<std::size_t>& at) {
  auto path = [&](std::size_t i) { return element_path(node.path_of("destinations"), at[i]); };
  auto listed = [](const destination_config& d) { return d.instances != std::vector<std::string>{d.name}; };
  std::map<std::string, std::size_t> listed_names; // name -> index in `all`, of destinations with a list
  for (std::size_t j = 0; j < all.size(); ++j)
    if (listed(all[j]))
      listed_names.emplace(all[j].name, j);
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t k = 0; listed(all[i]) && k < all[i].instances.size(); ++k) {
      const auto& instance = all[i].instances[k];
      auto other = listed_names.find(instance);
      if (other == listed_names.end() || other->second == i)
        continue;
      node.errors().push_back({element_path(path(i) + ".instances", k), "instance " + quote(instance) +
                                                                          " is the name of destination " +
                                                                          path(other->second) + " (one name, one destination)"});
    }
  }
}

} // namespace

void read_destinations(object_reader& node, const std::string& node_name, std::vector<destination_config>& out) {
  const json* list = node.array("destinations");
  if (!list)
    return;
  std::map<std::string, std::size_t> first_index; // name -> index of its first definition
  std::map<std::string, std::size_t> instance_owner; // instance -> index of the destination listing it
  std::vector<std::size_t> at;                        // index in the array of each destination in `out`
  for (std::size_t i = 0; i < list->size(); ++i) {
    object_reader r{(*list)[i], element_path(node.path_of("destinations"), i), node.errors()};
    if (!r.is_object())
      continue;
    auto d = read_destination(r);
    if (d.name.empty()) // missing or not a string, already reported
      continue;
    if (!node_name.empty() && d.name == node_name)
      r.error("name", quote(d.name) + " is this node's own name; a node does not replicate to itself");
    auto [first, inserted] = first_index.emplace(d.name, i);
    if (!inserted)
      r.error("name", "duplicate destination " + quote(d.name) + " (first defined at " +
                        element_path(node.path_of("destinations"), first->second) + ")");
    else // a duplicate name is one error, not a second one for its default instance
      check_instance_owners(r, node, node_name, d, i, instance_owner);
    out.push_back(std::move(d));
    at.push_back(i);
  }
  check_names_against_instances(node, out, at);
}

} // namespace tandem::config::detail
