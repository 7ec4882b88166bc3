// Which replication group each known instance belongs to, for passthrough routing: a record that
// arrived by replication is forwarded only if the group of the instance it came from matches the
// destination's passthrough regexes. Known from the config (destinations) and learned from the
// hellos of connecting peers. Thread-safe: links and connections run on any scheduler thread.
//
// Groups learned from hellos are remembered across restarts: the supervisor hands them to the
// journal actor, which keeps DATA_DIR/instance-groups.json (at most 4096 instances), and reloads
// them at startup, so records held from a peer that has not reconnected yet are still routed.
//
// Bounded: names come from whoever connects, so at most max_entries learned instances and
// max_bytes of names and groups are kept. Configured destinations are pinned (set with pin(),
// never evicted, not counted against the bounds). When a new learned instance does not fit, the
// learned entry that was learned longest ago is pruned (logged by the caller through the
// returned name; counted in pruned()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tandem {

class instance_groups {
public:
  explicit instance_groups(std::size_t max_entries = 4096, std::size_t max_bytes = 1u << 20)
    : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // A configured destination's group: always kept.
  void pin(const std::string& instance, const std::string& group) {
    std::lock_guard guard{mu_};
    if (auto it = groups_.find(instance); it != groups_.end() && !it->second.pinned)
      forget(it);
    groups_[instance] = entry{group, true, {}};
  }

  // A group learned from a hello (or remembered from one). Returns the instances pruned to make
  // room (oldest learned first). A pinned instance takes the new group and stays pinned.
  std::vector<std::string> learn(const std::string& instance, const std::string& group) {
    std::lock_guard guard{mu_};
    std::vector<std::string> pruned;
    auto it = groups_.find(instance);
    if (it != groups_.end()) {
      if (it->second.pinned) {
        it->second.group = group; // a configured destination announcing its group: follow it
        return pruned;
      }
      forget(it);
    }
    const std::size_t cost = instance.size() + group.size();
    if (cost > max_bytes_)
      return {instance}; // cannot be kept at all
    while (!order_.empty() && (order_.size() + 1 > max_entries_ || bytes_ + cost > max_bytes_)) {
      auto victim = groups_.find(order_.front());
      pruned.push_back(order_.front());
      forget(victim);
      ++pruned_;
    }
    order_.push_back(instance);
    groups_[instance] = entry{group, false, std::prev(order_.end())};
    bytes_ += cost;
    return pruned;
  }

  std::string group_of(std::string_view instance) const {
    std::lock_guard guard{mu_};
    auto it = groups_.find(std::string{instance});
    return it == groups_.end() ? std::string{} : it->second.group;
  }

  std::size_t learned() const {
    std::lock_guard guard{mu_};
    return order_.size();
  }
  std::uint64_t pruned() const {
    std::lock_guard guard{mu_};
    return pruned_;
  }

private:
  struct entry {
    std::string group;
    bool pinned = false;
    std::list<std::string>::iterator pos; // in order_, learned entries only
  };

  void forget(std::unordered_map<std::string, entry>::iterator it) {
    if (!it->second.pinned) {
      bytes_ -= it->first.size() + it->second.group.size();
      order_.erase(it->second.pos);
    }
    groups_.erase(it);
  }

  mutable std::mutex mu_;
  std::size_t max_entries_;
  std::size_t max_bytes_;
  std::unordered_map<std::string, entry> groups_;
  std::list<std::string> order_; // learned (unpinned) instances, oldest first
  std::size_t bytes_ = 0;
  std::uint64_t pruned_ = 0;
};

} // namespace tandem
