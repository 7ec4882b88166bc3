// Failover address cycler: decides where a destination's link connects when the destination
// lists several equivalent servers in priority order.
//
//              next(): dial{i}               on_connected()
//   ready(i) ------------------> trying(i) ------------------> connected(i)
//    ^   ^                        |     |                           |
//    |   +-- failed, i+1 < count -+     | failed, i+1 == count      |
//    |                                  v                           |
//    +-- next() at/after `at`: i=0 -- waiting(at)                   |
//    +-- on_disconnected(): i = 0, at once -------------------------+
//
//   on_inbound(true) from any state: idle while the inbound connection exists, no dials;
//   on_inbound(false): start over at address 0 with the backoff reset.
//
// Rules:
// - Every time the link needs a connection, attempts start at address 0 (the top of the list)
//   and go down in order; the cycler never resumes mid-list.
// - A full pass with no connection waits the current backoff (dithered by jitter), then starts
//   again at the top. Each failed pass multiplies the backoff by `multiplier`, capped at `max`.
// - A successful outbound connection, or an inbound connection from one of the destination's
//   servers, resets the backoff to `initial`: the destination was reachable, so the next outage
//   is a new one. Losing that connection therefore redials address 0 at once, with no wait.
// - While an inbound connection exists the cycler never dials; the link uses that connection.
// - An empty address list never dials (accept-only destination).
//
// Jitter: each wait is the undithered backoff times a factor drawn uniformly from
// [1 - jitter, 1 + jitter] by a splitmix64 generator seeded at construction, so a given seed
// gives the same waits on every platform and standard library (std::uniform_real_distribution
// does not promise that). Waits are whole milliseconds.
//
// Plain C++: no clock, socket or thread. The owner passes the time in and carries out the step
// that next() returns.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace tandem::logic {

// Preconditions (validated by config/, asserted here): 0 <= initial <= max, multiplier >= 1,
// 0 <= jitter <= 1.
struct backoff_config {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{30000};
  double multiplier = 2.0;
  double jitter = 0.2;
  // An outbound connection that ends sooner than this after it was made (the server accepts and
  // then drops us: it refuses us in its hello, or crashes at once) counts as a failed attempt of
  // that address, so such a server is not redialed in a tight loop.
  std::chrono::milliseconds stable_after{1000};
  // reconnect.connect_timeout_ms: one attempt, from the dial (name resolution included) to the
  // peer's hello. A dial carries its deadline; the attempt is failed then, whatever stage it is in.
  std::chrono::milliseconds connect_timeout{2000};
};

class address_cycler {
public:
  using time_point = std::chrono::steady_clock::time_point;

  struct dial {
    std::size_t index; // try addresses[index] now, then report on_connected / on_attempt_failed
    time_point deadline; // now + connect_timeout: the attempt must have the peer's hello by then
  };
  struct wait_until {
    time_point at; // nothing to do before `at`; call next() again then
  };
  struct idle {}; // connected, inbound present, accept-only, or an attempt is in flight
  using step = std::variant<dial, wait_until, idle>;

  address_cycler(std::size_t address_count, backoff_config cfg, std::uint64_t seed = 1);

  // What to do now. Returns dial at most once per attempt: after a dial it returns idle until
  // the attempt's result is reported.
  step next(time_point now);

  // The attempt of the last dial failed (refused, timed out, wrong instance...). `now` is when
  // the failure was seen; a wait that ends a pass starts from it.
  void on_attempt_failed(time_point now);

  // The attempt of the last dial succeeded.
  void on_connected();

  // Our outbound connection closed: start over from address 0 at once (backoff is already at
  // `initial` since the connection succeeded).
  void on_disconnected();
  // The same, knowing how long the connection `lasted`. At least stable_after: as above. Shorter
  // (an early drop): the connection does not count as a success after all. The backoff and pass
  // count go back to what they were before it was made, and the drop is a failed attempt of that
  // address: the next dial goes to the next address at once, and after the last address the
  // cycler waits the backoff and grows it, as for any failed pass.
  void on_disconnected(time_point now, std::chrono::nanoseconds lasted);

  // An inbound connection from a server of this destination exists (true) or no longer does
  // (false). An attempt already in flight is not cancelled; its result is still expected, and
  // the duplicate-connection tie-break decides which connection survives.
  void on_inbound(bool present);

  // Undithered wait the next fully failed pass will use.
  std::chrono::milliseconds current_backoff() const { return backoff_; }
  // Outbound connections that ended sooner than stable_after.
  std::uint64_t early_drops() const { return early_drops_; }
  // Full passes without a connection since the last success (outbound or inbound).
  std::size_t passes_failed() const { return passes_failed_; }
  std::uint64_t attempts(std::size_t index) const;
  std::uint64_t failures(std::size_t index) const;
  // Outbound connections made to a different address than the previous outbound connection.
  std::uint64_t failovers() const { return failovers_; }
  std::optional<std::size_t> connected_index() const { return connected_; }
  bool inbound_present() const { return inbound_; }
  // A dial awaits its result (on_connected / on_attempt_failed).
  bool in_flight() const { return in_flight_.has_value(); }

private:
  void reset_after_success();
  void fail(std::size_t index, time_point now); // a failed attempt of address `index`
  std::chrono::milliseconds dithered(std::chrono::milliseconds base);
  double next_unit(); // uniform in [0, 1)

  std::size_t count_;
  backoff_config cfg_;
  std::uint64_t rng_state_;

  std::size_t next_index_ = 0;               // address the next dial of this pass tries
  std::optional<std::size_t> in_flight_;     // address of the dial awaiting its result
  std::optional<std::size_t> connected_;     // address of the live outbound connection
  std::optional<std::size_t> last_connected_; // address of the previous outbound connection
  std::optional<time_point> wait_until_;     // end of the wait after a failed pass
  bool inbound_ = false;

  std::chrono::milliseconds backoff_;
  std::size_t passes_failed_ = 0;
  std::vector<std::uint64_t> attempts_;
  std::vector<std::uint64_t> failures_;
  std::uint64_t failovers_ = 0;
  std::chrono::milliseconds backoff_at_connect_; // backoff_ and passes_failed_ before the live
  std::size_t passes_at_connect_ = 0;            // outbound connection reset them
  std::uint64_t early_drops_ = 0;
};

// Choose one of several inbound connections from servers of the same destination: the index of
// the byte-wise smallest identity (first one on ties). Returns candidates.size() when empty.
//
// Pass the identity the remote announced (its listen address or instance name), not the
// ephemeral ip:port of the accepted socket: the announced identity is the same before and
// after either side restarts, so the choice depends only on which servers are connected, never
// on arrival order or on port numbers picked by the kernel. Byte-wise order is the one
// tie_break.hpp uses, so every instance ranks the same names the same way.
std::size_t choose_inbound(std::span<const std::string> candidates);

} // namespace tandem::logic
