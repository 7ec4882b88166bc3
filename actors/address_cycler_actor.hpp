// The failover address cycler of one destination: decides where the destination's link connects
// and dials there. The decisions (order, backoff, preference for inbound connections) are
// logic::address_cycler's; this actor resolves names (on every attempt: no caching, so a DNS name
// that moves between servers is followed), starts a non-blocking connect and hands the socket to
// a new replication_connection broker. What became of the attempt it hears from the supervisor
// only (dial_done, dial_ended), which also tells it whether an inbound connection from the
// destination is in use (inbound_use): one owner, the supervisor's connection registry.
// Its interface is cycler_actor (replication_messages.hpp).
//
// It runs on the scheduler (a node with many destinations has no thread per cycler): what blocks
// -- reading TANDEM_HOSTS_FILE, getaddrinfo, socket(), up to 20 ms for connect()'s answer (so a
// refusal is logged with its errno) -- runs in the node's one resolver actor (detached, shared by
// every cycler), which answers with the socket of a connect in progress (or connected).
// A failed attempt is logged once, by the cycler: "dial B (H:P) failed: WHY; next attempt in N ms".
// CAF's own connect (spawn_client, add_tcp_scribe) is never used: it blocks with no timeout.
// One attempt is bounded by reconnect.connect_timeout_ms from the dial to the peer's hello: the
// dial's deadline (logic::address_cycler::dial) fails an attempt still with the resolver, and the
// connection gets what is left of it (logic::replication_deadlines).
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/replication_context.hpp"
#include "actors/replication_messages.hpp"
#include "config/node_config.hpp"

namespace tandem {

cycler_actor spawn_address_cycler(caf::actor_system& sys, std::shared_ptr<const replication_context> ctx,
                                config::destination_config dest);
// The resolver every cycler of a node shares (replication_context::resolver).
caf::actor spawn_resolver(caf::actor_system& sys);

} // namespace tandem
