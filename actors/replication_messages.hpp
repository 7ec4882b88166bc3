// Messages between the node's replication actors. All local (never serialized by CAF).
//
//   listener/cycler --spawn--> connection --conn_hello--> supervisor --attach/detach--> link
//   connection --peer_ack--> link --send_frame--> connection
//   link --dest_ack--> journal --durable--> link
//   connection --append--> journal --append_reply--> connection --durable_ack--> peer
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "actors/logic/fanout_batch.hpp"
#include "journal/reader.hpp"
#include "journal/tail_window.hpp"

namespace tandem {

namespace atoms {
using conn_hello = caf::atom_constant<caf::atom("tconn_up")>;   // connection -> supervisor: peer identified
using conn_down = caf::atom_constant<caf::atom("tconn_dn")>;    // connection -> supervisor: closed
using attach = caf::atom_constant<caf::atom("tattach")>;        // supervisor -> link/cycler: use this connection
using detach = caf::atom_constant<caf::atom("tdetach")>;        // supervisor -> link/cycler: it is gone
using peer_ack = caf::atom_constant<caf::atom("tpeer_ack")>;    // connection -> link: durable_ack from the peer
using send_frame = caf::atom_constant<caf::atom("tsendfr")>;    // link -> connection: write this frame
using durable = caf::atom_constant<caf::atom("tdurable")>;      // journal -> links: durable up to seq
using subscribe = caf::atom_constant<caf::atom("tsubscr")>;     // link -> journal: send me durable notices
using close_conn = caf::atom_constant<caf::atom("tclose")>;     // supervisor -> connection: close (reason)
using violation = caf::atom_constant<caf::atom("tviolate")>;   // link -> connection: close{protocol_violation} (reason)
using dial = caf::atom_constant<caf::atom("tdial")>;            // cycler internal: next attempt
using dial_done = caf::atom_constant<caf::atom("tdialed")>;     // connection -> cycler: attempt result
using inbound_pos = caf::atom_constant<caf::atom("tinpos")>;    // connection -> journal: durable from peer
using publish = caf::atom_constant<caf::atom("tpublish")>;      // client session -> journal: publish batch
using start_dial = caf::atom_constant<caf::atom("tstdial")>;   // cycler -> resolver: resolve, start a connect
using read_disk = caf::atom_constant<caf::atom("trdisk")>;      // link -> journal reader: read behind the window
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

} // namespace tandem

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::frame_bytes)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::dial_started)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::logic::fanout_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::disk_read_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<tandem::journal::cursor>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::conn_direction)
