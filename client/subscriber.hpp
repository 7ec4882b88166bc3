// Subscriptions over a client_connection: subscribe() sends subscribe{id, regex, from}, next()
// returns the node's delivered frames for this subscriber's live subscriptions in arrival
// order (the node sends them in journal seq order: with a from_seq, the replay first, then
// live). Deliveries for an id after unsubscribe() are dropped. Blocking, single-threaded,
// bounded by the caller's timeouts; the connection must outlive the subscriber and carry no
// publishes (acks are counted as ignored frames).
#pragma once

#include <chrono>
#include <utility>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/client_connection.hpp"
#include "protocol/messages.hpp"

namespace tandem::client {

class subscriber {
public:
  explicit subscriber(client_connection& connection) : connection_(connection) {}

  // Subscribes to topics fully matching `topic_regex`; with from_seq, replays the journal from
  // that seq first. Returns the subscription id (1, 2, ... per subscriber), or nullopt when the
  // frame could not be sent (error()).
  std::optional<std::uint64_t> subscribe(const std::string& topic_regex,
                                         std::optional<std::uint64_t> from_seq,
                                         std::chrono::milliseconds timeout = std::chrono::milliseconds{1000});

  bool unsubscribe(std::uint64_t subscription_id,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds{1000});

  // The next delivery, or nullopt when none arrived within `timeout` (connection still open) or
  // the connection failed or was closed by the node (!is_open(), error() says why).
  std::optional<protocol::delivered> next(std::chrono::milliseconds timeout);

  // subscription_gap frames received for live subscriptions (docs/protocol.md, "Gaps"): what a
  // subscription's start point asked for that the node no longer holds. The node sends them
  // before the subscription's first delivery; next() collects them on the way, take_gaps()
  // hands them over (and forgets them).
  std::vector<protocol::subscription_gap> take_gaps() { return std::exchange(gaps_, {}); }

  bool is_open() const { return connection_.is_open(); }
  const std::string& error() const { return connection_.error(); }
  std::uint64_t ignored_frames() const { return ignored_frames_; }

private:
  client_connection& connection_;
  std::uint64_t next_id_ = 1;
  std::set<std::uint64_t> active_;
  std::uint64_t ignored_frames_ = 0; // deliveries for unknown ids, acks, other frames
  std::vector<protocol::subscription_gap> gaps_;
};

} // namespace tandem::client
