// The failover address cycler of one destination: decides where the destination's link connects
// and dials there. The decisions (order, backoff, preference for inbound connections) are
// logic::address_cycler's; this actor resolves names (on every attempt: no caching, so a DNS name
// that moves between servers is followed), starts a non-blocking connect and hands the socket to
// a new replication_connection broker, which reports back whether the peer identified itself.
//
// It runs on the scheduler (a node with many destinations has no thread per cycler): what blocks
// -- reading TANDEM_HOSTS_FILE, getaddrinfo, socket() -- runs in the node's one resolver actor
// (detached, shared by every cycler), which answers with the socket of a connect in progress.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/replication_context.hpp"
#include "config/node_config.hpp"

namespace tandem {

caf::actor spawn_address_cycler(caf::actor_system& sys, std::shared_ptr<const replication_context> ctx,
                                config::destination_config dest);
// The resolver every cycler of a node shares (replication_context::resolver).
caf::actor spawn_resolver(caf::actor_system& sys);

} // namespace tandem
