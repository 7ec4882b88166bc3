// One replication TCP connection (a CAF broker), carrying both directions between this node and
// one peer instance:
//   * records the peer sends are checked for duplicates, appended to our journal, and acked with
//     durable_ack once durable (persist first, then ack);
//   * frames our destination link for the peer hands us are written out, and the peer's
//     durable_acks go back to that link.
//
//   connecting/handshake --hello ok--> registering --supervisor keeps--> established --> closed
//          |                                 |
//          +--timeout, garbage, bad version--+--duplicate--> closed (reason logged and sent)
//
// Protocol on a fresh connection: both sides send hello at once. On the peer's hello (version
// checked), the connection registers with the supervisor, which keeps it or closes it as a
// duplicate; once kept, it sends durable_ack{what we durably hold from the peer}, which is the
// peer's resume point. Every connection problem closes only this connection, with a logged reason.
//
// A connection kept while another instance of the peer's destination group serves the link has no
// link (its records are still taken); it remembers the peer's latest durable_ack, and when the
// supervisor hands it the link (serve_link: the serving instance's connection ended) it attaches
// and passes that ack on as its resume point (what this instance durably holds of ours).
//
// Who hears what: its link (link_attach once kept or handed the link, peer_ack, link_detach), the supervisor
// (conn_hello, then conn_down when it ends: always for an outbound connection, whose end is its
// cycler's attempt result; for an inbound one once it said hello), the replication listener
// (slot_identified). Others send it what replication_connection_actor lists
// (replication_messages.hpp, which says why this stays a broker fronted by that typed handle).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/io/fwd.hpp>

#include "actors/replication_context.hpp"
#include "actors/replication_messages.hpp"

namespace tandem {
template <class Base>
class instrumented; // actors/instrumented_actor.hpp
} // namespace tandem

namespace tandem {

struct connection_args {
  std::shared_ptr<const replication_context> ctx;
  conn_direction direction = conn_direction::inbound;
  std::string expected_peer;       // outbound: the destination dialed; empty when inbound
  // outbound: the instance names that may answer (the destination's instances: any server of its
  // group); empty: expected_peer itself
  std::vector<std::string> acceptable_peers;
  std::string remote_address;      // for logs and status
  replication_listener_actor listener; // inbound: the replication listener, told who the peer is (slots)
  std::chrono::milliseconds connect_timeout{2000}; // outbound: until the peer's hello
  std::shared_ptr<const tls::context> tls; // null: plaintext (issue 18)
  std::string tls_server_name;             // outbound TLS: SNI and DNS name checked; empty: none
};

// The behavior of an accepted connection (the listener forks it into its own broker).
caf::behavior replication_connection(instrumented<caf::io::broker>* self, caf::io::connection_handle h,
                                     connection_args args);

// Spawns a broker for an outbound socket whose non-blocking connect() is in progress.
replication_connection_actor spawn_outbound_connection(caf::actor_system& sys, int fd, connection_args args);

} // namespace tandem
