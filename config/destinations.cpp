#include "config/destinations.hpp"

#include <map>
#include <optional>
#include <variant>

#include "config/host_port.hpp"
#include "config/names.hpp"
#include "config/pattern.hpp"

namespace tandem::config::detail {

namespace {

using nlohmann::json;

// The routing code compiles the same patterns with the same function (config/pattern.hpp), so a
// pattern accepted here cannot fail there.
std::optional<std::string> regex_problem(const std::string& source) {
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

destination_config read_destination(object_reader& r) {
  destination_config d;
  read_name(r, "name", d.name, presence::required);
  if (!read_name(r, "group", d.group, presence::optional))
    d.group = d.name;
  read_sync_type(r, d.type);
  read_addresses(r, d.addresses);
  read_passthrough(r, d.passthrough);
  if (r.read_string("topics", d.topics))
    if (auto problem = regex_problem(d.topics))
      r.error("topics", *problem);
  read_reconnect(r, d.reconnect);
  r.read_uint("downgrade_after_ms", d.downgrade_after_ms, 0, max_downgrade_after_ms);
  r.report_unknown_keys();
  return d;
}

} // namespace

void read_destinations(object_reader& node, const std::string& node_name, std::vector<destination_config>& out) {
  const json* list = node.array("destinations");
  if (!list)
    return;
  std::map<std::string, std::size_t> first_index; // name -> index of its first definition
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
    out.push_back(std::move(d));
  }
}

} // namespace tandem::config::detail
