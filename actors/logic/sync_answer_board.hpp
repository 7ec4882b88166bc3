// The persisted ack of a publish whose only missing condition
// is its sync destinations' acks, answered where those acks arrive (the replication connections),
// one thread hop before the journal actor's reply.
//
// The journal core marks such a publish at submit (nothing held or refused, the only one
// unanswered, no needed destination downgraded) and registers it here with the destinations it
// needs and the destinations epoch of that moment. The commit's callback reports its outcome
// (committed), the connections report the acks they route (acked). An entry is answered exactly
// once: when its commit succeeded and every destination it needs has acked at least its last seq,
// and only if the destinations epoch is still the one it was marked under (a live reload may have
// added a sync destination it must now wait for). A failed commit, a changed epoch or forget()
// removes it unanswered: the core's own reply answers it then, as it always follows.
//
// Acks are kept as a per-destination maximum, as the core's ack tracker keeps them
// (ack_tracker::on_destination_acked), for the configured destinations only (set_destinations),
// so an ack that arrives before the commit it covers still counts. Bounded: entries by the
// marking rule (one at a time: it needs every other publish answered), destinations by the config.
//
// Plain class, no locks: the node's holder guards it with a mutex (commit callbacks and connection
// threads both call it).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tandem::logic {

class sync_answer_board {
public:
  struct answer {
    std::uint64_t token = 0;
    std::uint64_t first = 0, last = 0, durable = 0; // the commit's outcome, as the reply carries it
  };

  // The configured destinations (names); acks for other names are ignored. Keeps the maxima of
  // those still configured.
  void set_destinations(const std::vector<std::string>& names) {
    std::map<std::string, std::uint64_t> next;
    for (const auto& n : names) {
      auto it = acked_.find(n);
      next.emplace(n, it == acked_.end() ? 0 : it->second);
    }
    acked_ = std::move(next);
  }

  // A publish the core marked. False (not registered) when it needs nothing or a destination that
  // is not configured, or when the token is already here.
  bool add(std::uint64_t token, std::vector<std::string> needs, std::uint64_t epoch) {
    if (needs.empty() || entries_.count(token) != 0)
      return false;
    for (const auto& n : needs)
      if (acked_.count(n) == 0)
        return false;
    entries_.emplace(token, entry{std::move(needs), epoch, false, 0, 0, 0});
    return true;
  }

  // The commit's outcome. ok: the records [first, last] are durable here (durable: the journal's
  // durable seq then). Returns the answer when the acks are already in.
  std::optional<answer> committed(std::uint64_t token, bool ok, std::uint64_t first, std::uint64_t last,
                                  std::uint64_t durable, std::uint64_t epoch_now) {
    auto it = entries_.find(token);
    if (it == entries_.end())
      return std::nullopt;
    if (!ok || it->second.epoch != epoch_now) {
      entries_.erase(it);
      return std::nullopt;
    }
    auto& e = it->second;
    e.committed = true;
    e.first = first;
    e.last = last;
    e.durable = durable;
    if (!covered(e))
      return std::nullopt;
    answer out{token, first, last, durable};
    entries_.erase(it);
    return out;
  }

  // An ack routed by a connection: `destination` holds every seq up to `seq` durably. Returns the
  // entries it completes, in token order.
  std::vector<answer> acked(const std::string& destination, std::uint64_t seq, std::uint64_t epoch_now) {
    std::vector<answer> out;
    auto a = acked_.find(destination);
    if (a == acked_.end() || seq <= a->second)
      return out;
    a->second = seq;
    for (auto it = entries_.begin(); it != entries_.end();) {
      auto& e = it->second;
      if (e.epoch != epoch_now) {
        it = entries_.erase(it);
        continue;
      }
      if (e.committed && covered(e)) {
        out.push_back({it->first, e.first, e.last, e.durable});
        it = entries_.erase(it);
        continue;
      }
      ++it;
    }
    return out;
  }

  // The core answered it (or refused it) first: nothing more to do here.
  void forget(std::uint64_t token) { entries_.erase(token); }

  std::size_t size() const { return entries_.size(); }
  bool holds(std::uint64_t token) const { return entries_.count(token) != 0; }
  std::uint64_t acked_through(const std::string& destination) const {
    auto it = acked_.find(destination);
    return it == acked_.end() ? 0 : it->second;
  }

private:
  struct entry {
    std::vector<std::string> needs;
    std::uint64_t epoch;
    bool committed;
    std::uint64_t first, last, durable;
  };
  bool covered(const entry& e) const {
    return std::all_of(e.needs.begin(), e.needs.end(), [&](const std::string& n) {
      auto it = acked_.find(n);
      return it != acked_.end() && it->second >= e.last;
    });
  }

  std::map<std::uint64_t, entry> entries_;
  std::map<std::string, std::uint64_t> acked_;
};

} // namespace tandem::logic
