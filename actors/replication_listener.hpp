// The replication listener: a CAF broker on the replication port. Each accepted connection is
// forked into its own replication_connection broker, which reads the peer's hello (within the
// handshake timeout) and hands itself to the supervisor. Bounded: limits.max_replication_connections
// slots (logic/replication_slots.hpp). When all are taken, a new connection evicts the oldest one
// that has not said hello, else the oldest one identified as an instance that is not a configured
// destination (close{resource_limit}, logged, counted); only when every slot holds a configured
// destination is the new connection refused. So idle strangers never lock a partner out.
// A broker; what others send it is replication_listener_actor (replication_messages.hpp).
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/replication_context.hpp"
#include "actors/replication_messages.hpp"

namespace tandem {

replication_listener_actor spawn_replication_listener(caf::actor_system& sys, int listen_fd,
                                      std::shared_ptr<const replication_context> ctx, std::uint32_t max_connections);

} // namespace tandem
