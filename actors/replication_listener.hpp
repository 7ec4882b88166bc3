// The replication listener: a CAF broker on the replication port. Each accepted connection is
// forked into its own replication_connection broker, which reads the peer's hello (within the
// handshake timeout) and hands itself to the supervisor. Bounded: beyond
// limits.max_replication_connections, new connections are closed at once with a logged reason.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/replication_context.hpp"

namespace tandem {

caf::actor spawn_replication_listener(caf::actor_system& sys, int listen_fd,
                                      std::shared_ptr<const replication_context> ctx, std::uint32_t max_connections);

} // namespace tandem
