#include "actors/logic/sync_downgrade.hpp"

#include <algorithm>

namespace tandem::logic {

std::string_view to_string(downgrade_reason r) {
  switch (r) {
    case downgrade_reason::none: return "none";
    case downgrade_reason::ack_timeout: return "ack_timeout";
    case downgrade_reason::disconnected: return "disconnected";
    case downgrade_reason::admin: return "admin";
  }
  return "none";
}

sync_downgrade::sync_downgrade(std::vector<downgrade_destination> destinations, std::uint64_t durable,
                               std::uint64_t now_ms)
    : durable_(durable) {
  std::uint64_t min_after = 0;
  for (auto& cfg : destinations) {
    if (cfg.sync && cfg.downgrade_after_ms > 0)
      min_after = min_after == 0 ? cfg.downgrade_after_ms : std::min(min_after, cfg.downgrade_after_ms);
    dest d;
    d.cfg = std::move(cfg);
    d.sync_since_ms = now_ms;
    d_.push_back(std::move(d));
  }
  granularity_ms_ = std::max<std::uint64_t>(1, min_after / 32);
  // What is durable at startup waited since startup at the earliest (its commit time is unknown).
  if (durable > 0 && min_after > 0)
    checkpoints_.push_back({durable, now_ms});
}

std::optional<std::size_t> sync_downgrade::index_of(std::string_view name) const {
  for (std::size_t i = 0; i < d_.size(); ++i)
    if (d_[i].cfg.name == name && !d_[i].removed)
      return i;
  return std::nullopt;
}

void sync_downgrade::on_durable(std::uint64_t durable, std::uint64_t now_ms) {
  if (durable <= durable_)
    return;
  durable_ = durable;
  if (std::any_of(d_.begin(), d_.end(), [this](const dest& d) { return tracked(d); })) {
    // A checkpoint per granularity: records in one share its (first) time, so their wait looks
    // up to one granularity longer than it is (early, never late). Full: the last one absorbs.
    if (!checkpoints_.empty() &&
        (now_ms < checkpoints_.back().at_ms + granularity_ms_ || checkpoints_.size() >= max_checkpoints))
      checkpoints_.back().last_seq = durable;
    else
      checkpoints_.push_back({durable, now_ms});
  }
  evaluate_all(now_ms);
}

void sync_downgrade::on_position(std::size_t i, std::uint64_t seq, std::uint64_t now_ms) {
  if (i >= d_.size() || seq <= d_[i].position)
    return;
  d_[i].position = seq;
  evaluate(i, now_ms);
  prune();
}

void sync_downgrade::on_connection(std::size_t i, bool connected, std::uint64_t now_ms) {
  if (i >= d_.size())
    return;
  auto& d = d_[i];
  const bool was = d.connected;
  d.connection_known = true;
  d.connected = connected;
  if (!connected && (was || d.disconnected_since_ms == 0))
    d.disconnected_since_ms = now_ms;
  if (!connected)
    d.catch_up.reset(); // the round starts again on the next connection
  evaluate(i, now_ms);
}

void sync_downgrade::tick(std::uint64_t now_ms) { evaluate_all(now_ms); }

void sync_downgrade::evaluate_all(std::uint64_t now_ms) {
  for (std::size_t i = 0; i < d_.size(); ++i)
    evaluate(i, now_ms);
  prune();
}

admin_outcome sync_downgrade::admin_downgrade(std::string_view name, std::uint64_t now_ms) {
  const auto i = index_of(name);
  if (!i)
    return admin_outcome::unknown_destination;
  auto& d = d_[*i];
  if (!d.cfg.sync)
    return admin_outcome::not_sync;
  d.admin_hold = true;
  d.catch_up.reset();
  if (!d.downgraded)
    downgrade(*i, downgrade_reason::admin, now_ms, "an operator asked for it");
  else
    d.reason = downgrade_reason::admin; // held now, whatever downgraded it first
  prune();
  return admin_outcome::ok;
}

admin_outcome sync_downgrade::admin_upgrade(std::string_view name, std::uint64_t now_ms) {
  const auto i = index_of(name);
  if (!i)
    return admin_outcome::unknown_destination;
  if (!d_[*i].cfg.sync)
    return admin_outcome::not_sync;
  // "Return to sync once caught up": the hold goes, the upgrade rule decides.
  d_[*i].admin_hold = false;
  evaluate(*i, now_ms);
  return admin_outcome::ok;
}

std::vector<sync_transition> sync_downgrade::take_transitions() {
  auto out = std::move(transitions_);
  transitions_.clear();
  return out;
}

std::size_t sync_downgrade::add(downgrade_destination cfg, std::uint64_t position, std::uint64_t now_ms) {
  dest d;
  d.cfg = std::move(cfg);
  d.position = position;
  d_.push_back(std::move(d));
  settings_changed(d_.size() - 1, now_ms);
  return d_.size() - 1;
}

void sync_downgrade::remove(std::size_t i) {
  if (i >= d_.size())
    return;
  auto& d = d_[i];
  d.removed = true;
  d.cfg.sync = false;
  d.downgraded = false;
  d.admin_hold = false;
  d.catch_up.reset();
  prune();
}

void sync_downgrade::set_sync(std::size_t i, bool sync, std::uint64_t now_ms) {
  if (i >= d_.size() || d_[i].removed || d_[i].cfg.sync == sync)
    return;
  auto& d = d_[i];
  d.cfg.sync = sync;
  if (!sync) { // async: never downgraded (the class contract); its stretch ends here
    d.downgraded_ms += d.downgraded && now_ms > d.since_ms ? now_ms - d.since_ms : 0;
    d.downgraded = d.admin_hold = false;
    d.reason = downgrade_reason::none;
    d.catch_up.reset();
  }
  settings_changed(i, now_ms);
}

void sync_downgrade::set_downgrade_after(std::size_t i, std::uint64_t ms, std::uint64_t now_ms) {
  if (i >= d_.size() || d_[i].removed || d_[i].cfg.downgrade_after_ms == ms)
    return;
  d_[i].cfg.downgrade_after_ms = ms;
  settings_changed(i, now_ms);
}

// New settings for destination i rule from now_ms: a full X before an ack_timeout, what is durable
// now waits from now_ms at the earliest (as at startup), and the granularity follows the smallest X.
void sync_downgrade::settings_changed(std::size_t i, std::uint64_t now_ms) {
  auto& d = d_[i];
  d.sync_since_ms = now_ms;
  std::uint64_t min_after = 0;
  for (const auto& o : d_)
    if (o.cfg.sync && o.cfg.downgrade_after_ms > 0)
      min_after = min_after == 0 ? o.cfg.downgrade_after_ms : std::min(min_after, o.cfg.downgrade_after_ms);
  granularity_ms_ = std::max<std::uint64_t>(1, min_after / 32);
  if (tracked(d) && d.position < durable_ && (checkpoints_.empty() || checkpoints_.back().last_seq < durable_))
    checkpoints_.push_back({durable_, now_ms});
  evaluate(i, now_ms);
  prune();
}

bool sync_downgrade::wants_ticks() const {
  return std::any_of(d_.begin(), d_.end(), [this](const dest& d) { return tracked(d) && d.position < durable_; });
}

std::uint64_t sync_downgrade::downgraded_ms_total(std::size_t i, std::uint64_t now_ms) const {
  const auto& d = d_[i];
  return d.downgraded_ms + (d.downgraded && now_ms > d.since_ms ? now_ms - d.since_ms : 0);
}

// The commit time of the oldest record beyond d's position (the time of its checkpoint), or none
// when it holds everything durable here.
std::optional<std::uint64_t> sync_downgrade::oldest_wait_since(const dest& d) const {
  if (d.position >= durable_)
    return std::nullopt;
  auto it = std::upper_bound(checkpoints_.begin(), checkpoints_.end(), d.position,
                             [](std::uint64_t pos, const checkpoint& c) { return pos < c.last_seq; });
  if (it == checkpoints_.end())
    return std::nullopt; // not tracked while these records came (cannot happen for a tracked one)
  return it->at_ms;
}

void sync_downgrade::evaluate(std::size_t i, std::uint64_t now_ms) {
  auto& d = d_[i];
  if (!d.cfg.sync)
    return;
  const auto after = d.cfg.downgrade_after_ms;
  if (!d.downgraded) {
    if (after == 0)
      return;
    if (auto since = oldest_wait_since(d)) {
      const auto from = std::max(*since, d.sync_since_ms);
      if (now_ms > from && now_ms - from > after)
        return downgrade(i, downgrade_reason::ack_timeout, now_ms,
                         "a record routed to it (seq " + std::to_string(d.position + 1) + ") waited " +
                           std::to_string(now_ms - from) + " ms for its ack (downgrade_after_ms " +
                           std::to_string(after) + ")");
    }
    if (d.connection_known && !d.connected && d.position < durable_ && now_ms > d.disconnected_since_ms &&
        now_ms - d.disconnected_since_ms > after)
      return downgrade(i, downgrade_reason::disconnected, now_ms,
                       "disconnected for " + std::to_string(now_ms - d.disconnected_since_ms) +
                         " ms while records wait (downgrade_after_ms " + std::to_string(after) + ")");
    return;
  }
  if (d.admin_hold || !d.connected)
    return;
  if (!d.catch_up)
    d.catch_up = round{durable_, now_ms};
  if (d.position < d.catch_up->target)
    return;
  const auto slack = after > 0 ? after / 2 : 1000;
  const auto took = now_ms > d.catch_up->started_ms ? now_ms - d.catch_up->started_ms : 0;
  if (d.position >= durable_ || took <= slack)
    return upgrade(i, now_ms,
                   "caught up: acked up to seq " + std::to_string(d.position) + " (local durable " +
                     std::to_string(durable_) + ")");
  d.catch_up = round{durable_, now_ms}; // behind by more than the slack: one more round
}

void sync_downgrade::downgrade(std::size_t i, downgrade_reason why, std::uint64_t now_ms, std::string detail) {
  auto& d = d_[i];
  d.downgraded = true;
  d.reason = why;
  d.since_ms = now_ms;
  d.catch_up.reset();
  ++d.downgrades;
  transitions_.push_back({i, true, why, now_ms,
                          "sync destination " + d.cfg.name + " downgraded (" + std::string{to_string(why)} +
                            "): " + detail + "; persisted acks no longer wait for it"});
}

void sync_downgrade::upgrade(std::size_t i, std::uint64_t now_ms, std::string detail) {
  auto& d = d_[i];
  d.downgraded_ms += now_ms > d.since_ms ? now_ms - d.since_ms : 0;
  d.downgraded = false;
  d.reason = downgrade_reason::none;
  d.since_ms = 0;
  d.sync_since_ms = now_ms;
  d.catch_up.reset();
  ++d.upgrades;
  // Tracked again: what it does not hold yet waits from now on (older checkpoints may be gone).
  if (d.cfg.downgrade_after_ms > 0 && d.position < durable_ &&
      (checkpoints_.empty() || checkpoints_.back().last_seq < durable_))
    checkpoints_.push_back({durable_, now_ms});
  transitions_.push_back({i, false, downgrade_reason::none, now_ms,
                          "destination " + d.cfg.name + " is sync again: " + detail +
                            "; persisted acks wait for it from now on"});
}

// Drops the checkpoints every tracked destination has passed (none tracked: all of them).
void sync_downgrade::prune() {
  std::optional<std::uint64_t> lowest;
  for (const auto& d : d_)
    if (tracked(d))
      lowest = lowest ? std::min(*lowest, d.position) : d.position;
  if (!lowest) {
    checkpoints_.clear();
    return;
  }
  while (!checkpoints_.empty() && checkpoints_.front().last_seq <= *lowest)
    checkpoints_.pop_front();
}

} // namespace tandem::logic
