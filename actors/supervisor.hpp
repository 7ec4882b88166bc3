// The node's root actor. It owns every other actor of the node (linked, so they stop with it),
// answers status requests, and (with the replication issue) learns every replication connection
// and collapses duplicates. It is the one source of what each destination's address cycler
// hears about connections (dial_done, dial_ended, inbound_use), derived from its connection
// registry. Its interface is supervisor_actor (replication_messages.hpp).
// A live reload (config_reload: SIGHUP, POST /config/reload) reads the config source again on a
// detached loader (actors/config_loader.hpp), decides against the running config
// (config/reload.hpp), applies an `applied` verdict, logs the verdict and answers it as JSON.
//
//   spawn -> running --(exit: user_shutdown)--> children stop (links) -> gone
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/journal_runtime.hpp"
#include "actors/logic/access_control.hpp"
#include "actors/node_info.hpp"
#include "actors/replication_messages.hpp"
#include "config/config_source.hpp"
#include "tls/context.hpp"

namespace tandem {

// What main prepared before the actor system existed, handed over to the node's actors.
struct node_resources {
  int admin_fd = -1;                         // listening; adopted by the admin broker
  int replication_fd = -1;                   // listening; adopted by the replication listener
  int client_fd = -1;                        // listening; adopted by the client listener
  std::shared_ptr<journal_runtime> journal;  // opened and recovered
  journal::recovery_report recovery;
  config::config_source config_source;       // read again by a live reload (config_reload)
  std::shared_ptr<logic::access_control> access = std::make_shared<logic::access_control>(); // issue 18
  // The node's TLS context, loaded from the `tls` section (null without one; issue 18); tandemd
  // rotates what it holds on SIGHUP, every listener and dialer reads it for each new connection.
  std::shared_ptr<tls::context_holder> tls;
};

supervisor_actor spawn_supervisor(caf::actor_system& sys, node_info info, node_resources resources);

} // namespace tandem
