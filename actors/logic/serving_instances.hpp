// Which instance serves each destination (issue 17 part 2: a destination is a group of equivalent
// servers, config destinations[i].instances). Plain, so tests drive it without actors.
//
// The supervisor's connection registry (connection_registry.hpp) stays keyed by peer instance:
// one connection in use per instance. This class sits on top of it and answers, per destination,
// which of its connected instances the destination's link uses (the SERVING instance):
//   * the first instance connected serves;
//   * while it serves, other instances of the group may be connected too (their records are
//     accepted on their own connections), but the link does not use them;
//   * when the serving instance's connection ends, another connected instance takes over at once
//     (the first of them in the configured order); none connected: nobody serves, and the
//     destination's address cycler dials.
//
//   on_connected(i)     the registry keeps a connection with instance i (a new one, or one that
//                       replaced i's previous connection). True when i serves now: it served
//                       already (its link moves to the new connection), or nobody served.
//   on_disconnected(i)  i has no connection in use any more (the registry's closed() said the
//                       one in use ended; a replaced connection's end is no change and is not
//                       reported here). When i served, the answer names the instance that takes
//                       over (nullopt: none connected) and the failover is counted.
//
// Worked example, destination B = {B1, B2}:
//   on_connected(B2) -> true  (B2 serves)      on_connected(B1) -> false (B2 still serves)
//   on_disconnected(B2) -> {B, was_serving, next B1}: B1 serves, failovers(B) = 1
//   on_disconnected(B1) -> {B, was_serving, next none}: nobody serves; the cycler dials.
//
// Invariant: serving(d), when set, is one of connected_instances(d).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace tandem::logic {

class serving_instances {
public:
  struct handover {
    std::string destination;          // empty: the instance serves no configured destination
    bool was_serving = false;         // it served: the link lost its connection
    std::optional<std::string> next;  // the instance that serves now (only when was_serving)
  };

  // A configured destination and the instances that may serve it (config order = preference
  // when several are connected at a failover). An instance belongs to one destination.
  void add_destination(const std::string& destination, const std::vector<std::string>& instances) {
    groups_[destination] = group{instances, std::nullopt, 0};
    for (const auto& i : instances)
      owner_[i] = destination;
  }

  // A live reload removed the destination (or restarts it: add_destination follows): its
  // instances serve nothing and are no longer counted as connected instances of a destination.
  void remove_destination(const std::string& destination) {
    auto it = groups_.find(destination);
    if (it == groups_.end())
      return;
    for (const auto& i : it->second.instances) {
      owner_.erase(i);
      connected_.erase(i);
    }
    groups_.erase(it);
  }

  // The destination `instance` may serve; nullptr when none.
  const std::string* destination_of(const std::string& instance) const {
    auto it = owner_.find(instance);
    return it == owner_.end() ? nullptr : &it->second;
  }

  bool on_connected(const std::string& instance) {
    auto* g = group_of(instance);
    if (!g)
      return false;
    connected_.insert(instance);
    if (!g->serving)
      g->serving = instance;
    return *g->serving == instance;
  }

  handover on_disconnected(const std::string& instance) {
    handover out;
    connected_.erase(instance);
    auto* g = group_of(instance);
    if (!g)
      return out;
    out.destination = owner_.at(instance);
    if (g->serving != instance)
      return out;
    out.was_serving = true;
    g->serving.reset();
    for (const auto& candidate : g->instances)
      if (connected_.count(candidate)) {
        g->serving = candidate;
        ++g->failovers;
        break;
      }
    out.next = g->serving;
    return out;
  }

  std::optional<std::string> serving(const std::string& destination) const {
    auto it = groups_.find(destination);
    return it == groups_.end() ? std::nullopt : it->second.serving;
  }

  bool connected(const std::string& instance) const { return connected_.count(instance) > 0; }

  // The destination's instances with a connection in use, in config order.
  std::vector<std::string> connected_instances(const std::string& destination) const {
    std::vector<std::string> out;
    if (auto it = groups_.find(destination); it != groups_.end())
      std::copy_if(it->second.instances.begin(), it->second.instances.end(), std::back_inserter(out),
                   [this](const std::string& i) { return connected(i); });
    return out;
  }

  // Handovers to another connected instance when the serving one's connection ended.
  std::uint64_t failovers(const std::string& destination) const {
    auto it = groups_.find(destination);
    return it == groups_.end() ? 0 : it->second.failovers;
  }

private:
  struct group {
    std::vector<std::string> instances;
    std::optional<std::string> serving;
    std::uint64_t failovers = 0;
  };
  group* group_of(const std::string& instance) {
    auto it = owner_.find(instance);
    return it == owner_.end() ? nullptr : &groups_.at(it->second);
  }

  std::map<std::string, group> groups_;       // by destination name
  std::map<std::string, std::string> owner_;  // instance -> destination name
  std::set<std::string> connected_;           // instances of any destination with a connection in use
};

} // namespace tandem::logic
