// Slots of the replication listener: at most `max` accepted connections, and a flood of
// connections that never say hello (or say hello as an instance this node does not replicate
// with) must not lock a configured destination out.
//
//   admit(c)            a connection was accepted. With a free slot: admitted. At the limit:
//                       admitted if an older connection can be evicted to make room, in this
//                       order: the oldest one that has not said hello, then the oldest one
//                       identified as an instance that is not a configured destination. A
//                       configured destination's connection is never evicted. Otherwise refused.
//   identified(c, cfg)  the connection's hello named an instance (cfg: a configured destination).
//   gone(c)             the connection ended (also for evicted ones, when their close completes).
//
// Invariant: admitted() - evicted-but-not-gone <= max, so the node holds at most max live
// connections plus those it is closing. Plain and templated on the handle (tests use integers,
// the listener caf::actor_addr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>

namespace tandem::logic {

template <class Handle>
class replication_slots {
public:
  enum class kind { unidentified, unconfigured, configured };
  struct admit_result {
    bool admitted = false;
    std::optional<Handle> evict; // close this one (close{resource_limit}) to make room
    kind evicted_kind = kind::unidentified;
  };

  explicit replication_slots(std::size_t max) : max_(max) {}

  admit_result admit(const Handle& c) {
    admit_result out;
    if (live() >= max_) {
      auto victim = oldest(kind::unidentified);
      if (!victim)
        victim = oldest(kind::unconfigured);
      if (!victim)
        return out; // every slot holds a configured destination's connection
      out.evict = (*victim)->first;
      out.evicted_kind = (*victim)->second.k;
      (*victim)->second.evicting = true;
      ++evictions_;
    }
    slots_.emplace(c, slot{kind::unidentified, next_order_++, false});
    out.admitted = true;
    return out;
  }

  void identified(const Handle& c, bool configured) {
    if (auto it = slots_.find(c); it != slots_.end())
      it->second.k = configured ? kind::configured : kind::unconfigured;
  }

  void gone(const Handle& c) { slots_.erase(c); }

  // Connections holding a slot (not counting those being evicted).
  std::size_t live() const {
    std::size_t n = 0;
    for (const auto& [h, s] : slots_)
      n += s.evicting ? 0 : 1;
    return n;
  }
  std::size_t count(kind k) const {
    std::size_t n = 0;
    for (const auto& [h, s] : slots_)
      n += !s.evicting && s.k == k ? 1 : 0;
    return n;
  }
  std::uint64_t evictions() const { return evictions_; }

private:
  struct slot {
    kind k;
    std::uint64_t order; // admission order: lower is older
    bool evicting;
  };

  using iterator = typename std::map<Handle, slot>::iterator;

  std::optional<iterator> oldest(kind k) {
    std::optional<iterator> best;
    for (auto it = slots_.begin(); it != slots_.end(); ++it)
      if (!it->second.evicting && it->second.k == k && (!best || it->second.order < (*best)->second.order))
        best = it;
    return best;
  }

  std::size_t max_;
  std::map<Handle, slot> slots_;
  std::uint64_t next_order_ = 0;
  std::uint64_t evictions_ = 0;
};

} // namespace tandem::logic
