// One client subscription: replays the journal from a sequence number (or starts at the durable
// end), then follows it live, sending the records whose topic fully matches the regex as
// `delivered` frames through the client listener, in journal order.
//
//   replaying/live --(credit exhausted)--> waiting for credit --(credit)--> replaying/live
//
// Flow control: it hands the client listener at most `chunk_bytes` of frames at a time and waits
// for a credit, which the listener grants once the connection's write buffer has drained below
// its bound, so a slow subscriber costs bounded memory and never stalls anything but itself.
// Runs detached: a replay from an old sequence reads segment files.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <caf/fwd.hpp>
#include <caf/io/connection_handle.hpp>

#include "actors/replication_context.hpp"

namespace tandem {

namespace atoms {
using deliver = caf::atom_constant<caf::atom("tdeliver")>; // subscription -> listener: frames for a connection
using credit = caf::atom_constant<caf::atom("tcredit")>;   // listener -> subscription: send more
} // namespace atoms

struct subscription_args {
  std::shared_ptr<const replication_context> ctx;
  caf::actor listener;            // the client listener broker
  caf::io::connection_handle conn;
  std::uint64_t id = 0;
  std::string topic_regex;        // already validated
  std::optional<std::uint64_t> from_seq;
  std::size_t chunk_bytes = 256u << 10;
};

caf::actor spawn_subscription(caf::actor_system& sys, subscription_args args);

} // namespace tandem
