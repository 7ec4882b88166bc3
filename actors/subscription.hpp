// One client subscription: replays the journal from a sequence number (or starts at the durable
// end), then follows it live, sending the records whose topic fully matches the regex as
// `delivered` frames through the client listener, in journal order.
//
// Replay and live are one loop over one journal cursor (served from the tail window while it is
// close to the end, from the segment files otherwise), so the hand-over has no seam: no gap, no
// duplicate. Bookmark subscriptions (subscribe_from) add logic::subscription_filter (the
// bookmark, and the from-time gate) and, with fully_durable, read only up to the ack rule's
// bound that the journal actor reports (watch_persisted) instead of the durable end.
//
//   replaying/live --(credit exhausted)--> waiting for credit --(credit)--> replaying/live
//
// Flow control: it hands the client listener at most `chunk_bytes` of frames at a time and waits
// for a credit, which the listener grants once the connection's write buffer has drained below
// its bound, so a slow subscriber costs bounded memory and never stalls anything but itself.
// Runs on the scheduler (no thread of its own): records in the journal's tail window are read in
// place; behind it, the node's journal readers (journal_reader.hpp) read the segment files and the
// subscription continues on their reply, so it never blocks a scheduler thread.
//
// Gaps: at its start it asks logic::find_gaps whether its start point lies below what retention
// kept; each missing range is logged, counted by the listener (atoms::sub_gap) and, for a 1.1
// client, sent as a subscription_gap frame ahead of the first delivery (docs/protocol.md, "Gaps").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/fwd.hpp>
#include <caf/io/connection_handle.hpp>

#include "actors/journal_actor.hpp"
#include "actors/replication_context.hpp"
#include "actors/replication_messages.hpp"

namespace tandem {

namespace atoms {
using deliver = caf::atom_constant<caf::atom("tdeliver")>; // subscription -> listener: frames for a connection
using credit = caf::atom_constant<caf::atom("tcredit")>;   // listener -> subscription: send more
using sub_gap = caf::atom_constant<caf::atom("tsubgap")>;  // subscription -> listener: (ranges, records) missing
} // namespace atoms

// What the client listener (client_listener.hpp) takes from other actors. The listener is a
// caf::io::broker fronted by this handle, for the reason replication_messages.hpp gives for the
// replication connection (a typed_broker's interface would include its socket events).
using client_listener_actor = caf::typed_actor<
  caf::reacts_to<atoms::deliver, caf::io::connection_handle, std::uint64_t, frame_bytes>, // (conn, subscription id, frames)
  caf::reacts_to<atoms::sub_gap, std::uint64_t, std::uint64_t>,                           // (ranges, records)
  caf::reacts_to<atoms::replicated, std::string, std::uint64_t>, // journal: (publisher, up_to_publisher_seq), 1.2
  caf::replies_to<atoms::status>::with<std::string>>;

// A subscription: the journal's notices (it subscribed to them) and the listener's credit.
using subscription_actor = caf::typed_actor<
  caf::reacts_to<atoms::durable, std::uint64_t, std::uint64_t>, // (durable seq, committed bytes)
  caf::reacts_to<atoms::persisted, std::uint64_t>,              // the ack rule's bound (fully_durable)
  caf::reacts_to<atoms::credit>>;

struct subscription_args {
  std::shared_ptr<const replication_context> ctx;
  client_listener_actor listener; // the client listener broker
  caf::io::connection_handle conn;
  std::uint64_t id = 0;
  std::string topic_regex;        // already validated
  std::optional<std::uint64_t> from_seq;         // none (and no from_time_ns): the durable end
  std::optional<std::int64_t> from_time_ns;      // start 3: the first record at or after it
  bool bookmark_filter = false;                  // subscribe_from: apply `bookmark`
  std::vector<std::pair<std::string, std::uint64_t>> bookmark; // origin -> highest origin_seq seen
  bool fully_durable = false;                    // deliver only up to the ack rule's bound
  bool gap_notices = false;                      // the client speaks 1.1: send subscription_gap frames
  std::size_t chunk_bytes = 256u << 10;
};

subscription_actor spawn_subscription(caf::actor_system& sys, subscription_args args);

} // namespace tandem
