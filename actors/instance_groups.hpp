// Which replication group each known instance belongs to, for passthrough routing: a record that
// arrived by replication is forwarded only if the group of the instance it came from matches the
// destination's passthrough regexes. Known from the config (destinations) and learned from the
// hellos of connecting peers. Thread-safe: links and connections run on any scheduler thread.
//
// Groups learned from hellos are remembered across restarts: the supervisor hands them to the
// journal actor, which keeps DATA_DIR/instance-groups.json (at most 4096 instances), and reloads
// them at startup, so records held from a peer that has not reconnected yet are still routed.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace tandem {

class instance_groups {
public:
  void learn(const std::string& instance, const std::string& group) {
    std::lock_guard guard{mu_};
    groups_[instance] = group;
  }
  std::string group_of(std::string_view instance) const {
    std::lock_guard guard{mu_};
    auto it = groups_.find(std::string{instance});
    return it == groups_.end() ? std::string{} : it->second;
  }

private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> groups_;
};

} // namespace tandem
