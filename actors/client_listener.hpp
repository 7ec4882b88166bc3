// The client listener: a CAF broker serving publishers on the client port.
//
//   client_hello -> client_hello (with this node's name); a major-version mismatch is refused
//   publisher_logon{id} -> publisher_logon_ack{id, the journal actor's safe mark for id}; if
//                   another live connection claims id: close{publisher_in_use} naming it. A claim
//                   ends with its connection.
//   publish...   -> one persisted_ack per publish once the ack rule holds (durable here and in
//                   every sync destination), or negative_ack with the reason; in publish order.
//                   A publish the node already held (the duplicate rule, decided by the journal
//                   actor) is acked with journal_seq 0 in its place. A publish under an id another
//                   live connection claims: negative_ack{bad_request} at once.
//                   Protocol 1.2 (client minor >= 2): a publish released while a downgraded sync
//                   destination lacked it is acked with persisted_partial{.., not_on}; the
//                   journal's `replicated` notes go to the connection logged on with (else last
//                   publishing under) that id; a connection whose oldest unanswered publish
//                   waited over 1 s gets waiting{ms, destinations} (logic/ack_wait_notice.hpp,
//                   checked by the periodic sweep, names from the journal's waiting_on).
//   subscribe    -> delivered frames for every durable record whose topic fully matches, from
//   subscribe_from  the requested journal seq (replay) or the durable end, then live; bookmark
//                   subscriptions add the start modes, the bookmark filter and fully_durable; one
//                   subscription actor each (actors/subscription.hpp); unsubscribe stops it
//   heartbeat    -> heartbeat
//
// All publishes that arrive in one read become one journal batch (group commit does the rest).
// Bounded: max_client_connections, the frame size limit, and at most max_outstanding publishes
// per connection waiting for their ack (beyond that, negative_ack queue_full at once). Admission
// control (docs/protocol.md, "Connection bounds"): a frame over 64 KiB before client_hello closes
// the connection; after it, a frame over 64 KiB acquires its length from the node-wide budget
// (logic/memory_budget.hpp) when its header arrives; output CAF queued for a connection is
// charged until data_transferred_msg says it left, and a client past max_connection_buffer_bytes
// (or the budget) is reset; frame and idle timeouts (logic/connection_deadlines.hpp) are checked
// by one periodic sweep; max_subscriptions_per_connection. Every such close: close{resource_limit}
// or close{idle_timeout}, logged, counted in the status (closed_by_reason, buffer_budget).
// TLS (issue 18, docs/security.md "TLS on the client port"): with client.tls every byte in and out
// passes through the connection's tls::link_transport (emit()); a verified client certificate
// naming tandem:user/NAME logs in as NAME (logic::route_login); a client speaking the wrong
// protocol gets a plaintext close{bad_frame} saying which the port speaks, at once.
// A broker; what others send it is client_listener_actor (subscription.hpp).
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/replication_context.hpp"
#include "actors/subscription.hpp"

namespace tandem {

client_listener_actor spawn_client_listener(caf::actor_system& sys, int listen_fd, std::shared_ptr<const replication_context> ctx,
                                 std::uint32_t max_connections, std::size_t max_outstanding = 65536);

} // namespace tandem
