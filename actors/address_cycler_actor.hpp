// The failover address cycler of one destination: decides where the destination's link connects
// and dials there. The decisions (order, backoff, preference for inbound connections) are
// logic::address_cycler's; this actor resolves names (on every attempt: no caching, so a DNS name
// that moves between servers is followed), starts a non-blocking connect and hands the socket to
// a new replication_connection broker, which reports back whether the peer identified itself.
//
// It runs detached: getaddrinfo blocks, and must never do so on a CAF scheduler thread.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/replication_context.hpp"
#include "config/node_config.hpp"

namespace tandem {

caf::actor spawn_address_cycler(caf::actor_system& sys, std::shared_ptr<const replication_context> ctx,
                                config::destination_config dest);

} // namespace tandem
