// When a sync destination stops counting for the ack rule, and when it counts again (issue 16,
// sync downgrade and upgrade). A plain class: the journal core feeds it the local durable
// position with the time of each commit, each destination's coverage position (ack_tracker's
// meaning), connection changes, ticks and admin actions -- every input carries `now_ms` (unix
// milliseconds, read by the actor; no clock here) -- and asks for the effective state and the
// transitions.
//
// Per destination (only sync ones ever change; an async one is never downgraded):
//
//        +------------- ack_timeout / disconnected / admin ------------+
//        |                                                             v
//     [ sync ] <---- caught up (connected, no admin hold) ---- [ downgraded ]
//
// Downgrade rules (downgrade_after_ms = X > 0; X = 0 disables both, only an admin downgrades):
//   * ack_timeout: the oldest record beyond its position (routed to it, not acked) was committed
//     here more than X ms ago -- counted from the latest upgrade at the earliest, so a
//     destination that was just upgraded gets a full X before it can be downgraded again.
//   * disconnected: it has been disconnected for more than X ms while a record waits (durable
//     here beyond its position).
//   * admin: admin_downgrade(); holds until admin_upgrade(), whatever the rules say.
// Upgrade rule (no admin hold): connected, and it acked everything up to the local durable
// position -- in catch-up rounds: a round's target is the durable position when the round
// starts; when the position reaches it, the destination is upgraded if it is at the current
// durable position, or if the round took at most catch_up_slack_ms (X / 2, 1000 ms when X = 0:
// it is then behind by less than half the downgrade delay, so it does not flap straight back);
// otherwise the next round targets the current durable position. A disconnection ends the round.
//
// Commit times: one checkpoint (last seq, time of its first commit) per granularity
// (max(1, min X / 32) ms); a record's wait is counted from its checkpoint's time, so it may look
// up to one granularity older than it is: a downgrade can come that much early, never late.
// Checkpoints every tracked destination (sync, not downgraded, X > 0) has passed are dropped,
// so they are bounded by about 32 plus the records of one tick, whatever happens (a destination
// down for a day is downgraded after X and stops holding them); max_checkpoints caps them hard
// (beyond it the last checkpoint absorbs new commits: early, never late).
//
// Connection state is optional: until on_connection() is called for a destination it counts as
// connected (the disconnected rule does not apply, the upgrade rule does not wait for it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::logic {

enum class downgrade_reason { none, ack_timeout, disconnected, admin };
std::string_view to_string(downgrade_reason r);

struct downgrade_destination {
  std::string name;
  bool sync = false;
  std::uint64_t downgrade_after_ms = 0; // 0 = never by the rules
};

struct sync_transition {
  std::size_t destination = 0;
  bool downgraded = false; // false: upgraded
  downgrade_reason reason = downgrade_reason::none; // why it was downgraded (none for upgrades)
  std::uint64_t at_ms = 0;
  std::string text; // for the log, once per transition
};

// The answer to an admin action.
enum class admin_outcome { ok, unknown_destination, not_sync };

class sync_downgrade {
public:
  static constexpr std::size_t max_checkpoints = 4096;

  // `durable` and positions: what the journal holds at startup; `now_ms`: the startup time.
  sync_downgrade(std::vector<downgrade_destination> destinations, std::uint64_t durable, std::uint64_t now_ms);

  // Records up to `durable` are durable here since `now_ms`.
  void on_durable(std::uint64_t durable, std::uint64_t now_ms);
  // Destination i's coverage position (monotonic; a lower value is ignored).
  void on_position(std::size_t i, std::uint64_t seq, std::uint64_t now_ms);
  void on_connection(std::size_t i, bool connected, std::uint64_t now_ms);
  void tick(std::uint64_t now_ms);
  admin_outcome admin_downgrade(std::string_view name, std::uint64_t now_ms);
  admin_outcome admin_upgrade(std::string_view name, std::uint64_t now_ms);

  std::vector<sync_transition> take_transitions();

  // Live reconfiguration (issue 21). add(): a new index (returned), at `position`, sync since
  // now_ms (a record already waiting counts its wait from now_ms at the earliest). remove(): the
  // index stays (indexes never move) but counts no more: async, not downgraded, unknown to
  // index_of() and the admin actions. set_sync() / set_downgrade_after(): the new settings rule
  // from now_ms; a destination that becomes tracked counts the wait of records already durable
  // from now_ms (as at startup); one that stops being sync while downgraded just stops counting
  // (no transition: it holds nothing back either way).
  std::size_t add(downgrade_destination d, std::uint64_t position, std::uint64_t now_ms);
  void remove(std::size_t i);
  void set_sync(std::size_t i, bool sync, std::uint64_t now_ms);
  void set_downgrade_after(std::size_t i, std::uint64_t ms, std::uint64_t now_ms);
  bool removed(std::size_t i) const { return d_[i].removed; }

  // True while a rule may fire by the passing of time alone (the actor ticks only then).
  bool wants_ticks() const;

  std::size_t size() const noexcept { return d_.size(); }
  std::optional<std::size_t> index_of(std::string_view name) const;
  const std::string& name(std::size_t i) const { return d_[i].cfg.name; }
  bool sync(std::size_t i) const { return d_[i].cfg.sync; }
  bool downgraded(std::size_t i) const { return d_[i].downgraded; }
  bool admin_hold(std::size_t i) const { return d_[i].admin_hold; }
  downgrade_reason reason(std::size_t i) const { return d_[i].reason; }
  std::uint64_t downgraded_since_ms(std::size_t i) const { return d_[i].since_ms; }
  std::uint64_t downgrades(std::size_t i) const { return d_[i].downgrades; }
  std::uint64_t upgrades(std::size_t i) const { return d_[i].upgrades; }
  // Time spent downgraded, the current stretch included.
  std::uint64_t downgraded_ms_total(std::size_t i, std::uint64_t now_ms) const;
  std::size_t checkpoints() const noexcept { return checkpoints_.size(); }
  std::uint64_t granularity_ms() const noexcept { return granularity_ms_; }

private:
  struct checkpoint {
    std::uint64_t last_seq;
    std::uint64_t at_ms;
  };
  struct round {
    std::uint64_t target;
    std::uint64_t started_ms;
  };
  struct dest {
    downgrade_destination cfg;
    std::uint64_t position = 0;
    bool connection_known = false, connected = true;
    std::uint64_t disconnected_since_ms = 0;
    std::uint64_t sync_since_ms = 0; // latest upgrade (or startup)
    bool downgraded = false, admin_hold = false;
    downgrade_reason reason = downgrade_reason::none;
    std::uint64_t since_ms = 0;
    std::uint64_t downgrades = 0, upgrades = 0, downgraded_ms = 0;
    std::optional<round> catch_up;
    bool removed = false; // by a live reload (remove()): never found by name again
  };

  bool tracked(const dest& d) const { return d.cfg.sync && !d.downgraded && d.cfg.downgrade_after_ms > 0; }
  void evaluate(std::size_t i, std::uint64_t now_ms);
  void downgrade(std::size_t i, downgrade_reason why, std::uint64_t now_ms, std::string detail);
  void upgrade(std::size_t i, std::uint64_t now_ms, std::string detail);
  std::optional<std::uint64_t> oldest_wait_since(const dest& d) const;
  void prune();
  void evaluate_all(std::uint64_t now_ms);
  void settings_changed(std::size_t i, std::uint64_t now_ms);

  std::vector<dest> d_;
  std::uint64_t durable_ = 0;
  std::uint64_t granularity_ms_ = 1;
  std::deque<checkpoint> checkpoints_; // increasing last_seq and at_ms
  std::vector<sync_transition> transitions_;
};

} // namespace tandem::logic
