// Messages between the node's replication actors, and their typed interfaces. All local (never
// serialized by CAF).
//
//   listener/cycler --spawn--> connection --conn_hello--> supervisor: keeps it or not, and answers
//                                                         with the peer's link if it is a destination
//   connection --link_attach / link_detach / peer_ack--> link
//   link --send_frame / violation--> connection        supervisor --close_conn / serve_link--> connection
//   connection --conn_down--> supervisor --dial_done / dial_ended / inbound_use--> cycler
//   link --dest_ack--> journal --durable--> link
//   link --ack_route--> connection --acked--> sync_answers  (the peer's acks, one hop sooner: forward_ack)
//   connection --append--> journal --append_reply--> connection --durable_ack--> peer
//   (the committer tells the connection first: append_durable, append_request::durable_notice)
//
// One atom, one shape: each atom below is sent with the same arguments by every sender, and the
// typed interfaces at the end say which actor takes it. One owner per fact: the address cycler
// hears about connections from the supervisor only, whose connection registry is the truth about
// which connection is in use (logic/connection_registry.hpp); connections report to the
// supervisor, never to the cycler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/atoms.hpp"
#include "actors/logic/fanout_batch.hpp"
#include "config/node_config.hpp"
#include "journal/reader.hpp"
#include "journal/tail_window.hpp"
#include "protocol/messages.hpp"

namespace tandem {

namespace atoms {
using conn_hello = caf::atom_constant<caf::atom("tconn_up")>;   // connection -> supervisor: peer identified
using conn_down = caf::atom_constant<caf::atom("tconn_dn")>;    // connection -> supervisor: it ended
using link_attach = caf::atom_constant<caf::atom("tlnk_att")>;  // connection -> link: use me for the destination
using link_detach = caf::atom_constant<caf::atom("tlnk_det")>;  // connection -> link: I am gone
using peer_ack = caf::atom_constant<caf::atom("tpeer_ack")>;    // connection -> link: durable_ack from the peer
using send_frame = caf::atom_constant<caf::atom("tsendfr")>;    // link -> connection: write this frame
// link -> connection (issue 19 part 2): hand the peer's durable_acks to the sync answers too, as
// destination NAME's (empty: stop). See replication_connection.cpp, forward_ack.
using ack_route = caf::atom_constant<caf::atom("tackroute")>;
using durable = caf::atom_constant<caf::atom("tdurable")>;      // journal -> links: durable up to seq
// committer thread -> sync links (journal.send_before_durable): written and sendable up to seq
using written = caf::atom_constant<caf::atom("twritten")>;
using subscribe = caf::atom_constant<caf::atom("tsubscr")>;     // link -> journal: send me durable notices
using close_conn = caf::atom_constant<caf::atom("tclose")>;     // supervisor -> connection: close (reason)
using serve_link = caf::atom_constant<caf::atom("tserve")>;     // supervisor -> connection: serve this link now (failover)
using violation = caf::atom_constant<caf::atom("tviolate")>;   // link -> connection: close{protocol_violation} (reason)
using slot_identified = caf::atom_constant<caf::atom("tslot_id")>; // connection -> replication listener
using slot_evict = caf::atom_constant<caf::atom("tslot_ev")>;   // replication listener -> connection
using dial = caf::atom_constant<caf::atom("tdial")>;            // cycler -> itself (timer): next attempt
using dial_done = caf::atom_constant<caf::atom("tdialed")>;     // supervisor -> cycler: attempt kept / failed
using dial_ended = caf::atom_constant<caf::atom("tdial_end")>;  // supervisor -> cycler: its kept connection ended
using inbound_use = caf::atom_constant<caf::atom("tinb_use")>;  // supervisor -> cycler: inbound connection in use?
using inbound_pos = caf::atom_constant<caf::atom("tinpos")>;    // connection -> journal: what is held of peer? (-> seq)
using inbound_held = caf::atom_constant<caf::atom("tinheld")>;  // connection -> journal: now durably held of peer up to seq
using publish = caf::atom_constant<caf::atom("tpublish")>;      // client session -> journal: publish batch
using start_dial = caf::atom_constant<caf::atom("tstdial")>;   // cycler -> resolver: resolve, start a connect
using read_disk = caf::atom_constant<caf::atom("trdisk")>;      // link -> journal reader: read behind the window
// Anti-entropy (issue 17, part 7; protocol 1.5 digest frames):
using digest_out = caf::atom_constant<caf::atom("tdig_out")>;   // link -> connection: send this digest_request
using digest_in = caf::atom_constant<caf::atom("tdig_in")>;     // connection -> link: the peer's digest_reply
using peer_minor = caf::atom_constant<caf::atom("tpeer_mi")>;   // connection -> link (after link_attach): its hello's minor
using ae_tick = caf::atom_constant<caf::atom("tae_tick")>;      // timer -> link: is a comparison due?
// Link compression (issue 20; protocol 1.7):
using peer_codec = caf::atom_constant<caf::atom("tpeer_cod")>; // connection -> link (after link_attach): hello's minor, offer
using repair_out = caf::atom_constant<caf::atom("trep_out")>;   // link -> connection: send this repair_batch (1.6)
using repair_in = caf::atom_constant<caf::atom("trep_in")>;     // connection -> link: the peer's repair_ack (1.6)
} // namespace atoms

// Which side dialed a connection.
enum class conn_direction : std::uint8_t { outbound = 0, inbound = 1 };

inline const char* to_string(conn_direction d) { return d == conn_direction::outbound ? "dialed" : "accepted"; }

// An encoded frame shared between actors without copying.
struct frame_bytes {
  std::shared_ptr<const std::string> bytes;
};

// A journal reader's answer to read_disk: the records read (a chunk of the reader's own), or why not.
struct disk_read_reply {
  std::vector<journal::chunk_slice> slices;
  std::string error;
  bool trimmed = false; // retention removed what was asked for
};

// The resolver's answer to start_dial: a socket with a non-blocking connect in progress, or -1
// and why.
struct dial_started {
  int fd = -1;
  std::string why;
};

// ---- Typed interfaces of the replication actors ----------------------------------------------

// A replication connection (replication_connection.hpp). It stays a caf::io::broker: a CAF 0.17
// typed_broker would have to list its socket events (new_data_msg, connection_closed_msg: the
// connection_handler interface) and its timer tick in the same interface, so every holder of the
// handle could send them. This handle is what other actors may send it; every sender holds it, so
// a message the connection does not take does not compile. The broker's handlers for these six
// are at the end of replication_connection.cpp (CAF does not check that side at compile time).
using replication_connection_actor = caf::typed_actor<
  caf::reacts_to<atoms::send_frame, logic::fanout_batch>, // its link: write this record batch
  caf::reacts_to<atoms::ack_route, std::string>,          // its link: acks to the sync answers, as this destination's
  caf::reacts_to<atoms::violation, std::string>,          // its link: close{protocol_violation}
  caf::reacts_to<atoms::close_conn, std::string>,         // supervisor: close as a duplicate
  caf::reacts_to<atoms::slot_evict, std::string>,         // replication listener: slot taken back
  // supervisor: the serving instance of the peer's destination ended; serve its link now (issue 17
  // part 2). The link's handle, untyped: destination_link_actor's interface names this one.
  caf::reacts_to<atoms::serve_link, caf::actor>,
  caf::reacts_to<atoms::digest_out, protocol::digest_request>, // its link: ask the peer for a digest
  caf::reacts_to<atoms::repair_out, protocol::repair_batch>>;  // its link: re-send these records (1.6)

// The replication listener (replication_listener.hpp; a broker, fronted by this handle likewise).
using replication_listener_actor = caf::typed_actor<
  caf::reacts_to<atoms::slot_identified, replication_connection_actor, bool>>; // (conn, configured)

// A destination link (destination_link.hpp).
using destination_link_actor = caf::typed_actor<
  // (connection, remote address, direction, the peer's journal base from its hello, the peer's
  // instance name: which instance of the destination's group serves it now)
  caf::reacts_to<atoms::link_attach, replication_connection_actor, std::string, conn_direction, std::uint64_t,
                 std::string>,
  caf::reacts_to<atoms::link_detach, replication_connection_actor>,
  caf::reacts_to<atoms::peer_ack, std::uint64_t>,
  caf::reacts_to<atoms::durable, std::uint64_t, std::uint64_t>, // (durable seq, committed bytes)
  caf::reacts_to<atoms::written, std::uint64_t>,                  // journal::sendable_seq() (send_before_durable)
  caf::reacts_to<atoms::peer_minor, std::uint16_t>,               // anti-entropy: the attached peer's minor
  caf::reacts_to<atoms::digest_in, protocol::digest_reply>,       // anti-entropy: the peer's reply
  caf::reacts_to<atoms::ae_tick>,                                 // anti-entropy: its timer
  caf::reacts_to<atoms::peer_codec, std::uint16_t, std::uint8_t>, // compression: the peer's minor and offer
  caf::reacts_to<atoms::repair_in, protocol::repair_ack>,         // anti-entropy: the peer's repair_ack
  caf::replies_to<atoms::status>::with<std::string>>;

// A destination's address cycler (address_cycler_actor.hpp). Fed by the supervisor only.
using cycler_actor = caf::typed_actor<
  caf::reacts_to<atoms::dial, std::uint64_t>,          // its own timer (epoch)
  caf::reacts_to<atoms::dial_done, bool, std::string>, // its attempt: kept (true) or ended before (false, why)
  caf::reacts_to<atoms::dial_ended>,                   // its kept connection ended
  caf::reacts_to<atoms::inbound_use, bool>,            // an inbound connection from the destination is in use
  // A live reload changed its addresses or reconnect schedule (adopted once no attempt is in
  // flight and no outbound connection is in use)
  caf::reacts_to<atoms::reconfigure, std::shared_ptr<const config::destination_config>>,
  caf::replies_to<atoms::status>::with<std::string>>;

// The supervisor (supervisor.hpp), as the node's actors and the admin server see it.
using supervisor_actor = caf::typed_actor<
  caf::replies_to<atoms::status>::with<std::string>,
  // A live reload (SIGHUP, POST /config/reload): the verdict as JSON (config::reload_verdict)
  caf::replies_to<atoms::config_reload>::with<std::string>,
  caf::replies_to<atoms::metrics_text>::with<std::string>,
  // (peer, its group, its instance id, direction, the connection, remote address) -> (keep it?,
  // the peer's link if the peer serves it now, and when not kept because another node with that
  // name and another instance id is connected: the reason for close{identity_conflict}, else
  // empty; whether the peer is an instance of one of our destinations, serving or not: its
  // replication slot is never evicted)
  caf::replies_to<atoms::conn_hello, std::string, std::string, std::string, conn_direction,
                  replication_connection_actor, std::string>::with<bool, destination_link_actor, std::string, bool>,
  // (peer: for an outbound connection before its hello, the destination dialed; the connection,
  // direction, why it ended)
  caf::reacts_to<atoms::conn_down, std::string, replication_connection_actor, conn_direction, std::string>>;

} // namespace tandem

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::frame_bytes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::dial_started)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::logic::fanout_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::disk_read_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<tandem::journal::cursor>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::conn_direction)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const tandem::config::destination_config>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::protocol::digest_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::protocol::digest_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::protocol::repair_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::protocol::repair_ack)
