// The node's root actor. It owns every other actor of the node (linked, so they stop with it),
// answers status requests, and (with the replication issue) learns every replication connection
// and collapses duplicates.
//
//   spawn -> running --(exit: user_shutdown)--> children stop (links) -> gone
#pragma once

#include <caf/fwd.hpp>

#include "actors/node_info.hpp"

namespace tandem {

struct node_sockets {
  int admin_fd = -1; // listening; adopted by the admin broker
};

caf::actor spawn_supervisor(caf::actor_system& sys, node_info info, node_sockets sockets);

} // namespace tandem
