// A destination link: one per configured destination. It reads the journal from what the
// destination durably holds, sends the records routing admits in batches over the connection the
// peer's replication connection attached (link_attach), bounded by an in-flight window in bytes, and advances on durable acks
// (reporting each advance to the journal actor, which keeps it for retention and the ack rule).
//
//   idle --link_attach--> awaiting resume --first peer ack--> streaming --link_detach--> idle
//                          |                                 |
//                          +--- a claim above its bound -----+--> idle: close{protocol_violation}
//
// Its interface is destination_link_actor (replication_messages.hpp). Where it resumes on a
// connection is logic/resume_decision.hpp's decision, logged and counted by reason (/status
// `resumes`, tandem_destination_resumes_total).
// A peer ack counts only from the connection in use, and only within logic/peer_claims.hpp's
// bounds (resume point <= our durable seq, later acks <= the last seq sent on the connection).
// A record routing admits that does not fit one frame stops the streaming before it
// (logic/link_window.hpp, "Unsendable records"): never counted as held, logged once, counted.
//
// With journal.send_before_durable a link to a sync destination sends records once written here,
// before this node's fdatasync (docs/protocol.md, "Sending before durable"); the persisted ack still
// waits for the local fdatasync too (logic/ack_tracker.hpp).
// A destination that is down costs no memory: nothing is queued; on the next connection the link
// re-reads from the journal. A node has no thread per destination: an async destination's link
// runs on the scheduler, a sync destination's (without compression) on the node's I/O thread (a
// broker with no connection of its own), beside the replication connections, so that a record
// written here reaches the socket after one thread wake-up, not two (issue 19; /status
// `runs_on`). Neither blocks: following the tail they read the journal's in-memory window
// (pointer copies, no I/O) and send the records' wire bytes encoded once for all links
// (logic/fanout_batch.hpp); a link behind the window has a journal reader (journal_reader.hpp)
// read the segment files for it.
// With destinations[i].compression set and offered by the peer's hello (protocol 1.7), a batch is
// compressed once for every link with the same setting (logic::batch_compressor); the fallback to
// uncompressed is logged once per connection; /status `compression` has the figures.
#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "actors/instance_groups.hpp"
#include "actors/replication_context.hpp"
#include "actors/replication_messages.hpp"
#include "config/node_config.hpp"

namespace tandem {

struct link_options {
  std::uint64_t max_in_flight_bytes = 4u << 20;    // the window's floor (logic/window_sizer.hpp)
  std::uint64_t max_link_window_bytes = 64u << 20; // its ceiling
  std::size_t links = 1;                           // destinations sharing the budget's half
  std::size_t max_batch_records = 512;
  std::size_t max_batch_bytes = 256u << 10;
  // journal.send_before_durable: a link to a SYNC destination reads written records up to
  // journal::sendable_seq() (woken by atoms::written from the committer thread, before the local
  // fdatasync) instead of durable ones only; async destinations keep reading durable records.
  bool send_before_durable = false;
};

// Whether its link runs on the node's I/O thread: a sync destination without compression (the
// rest run on the scheduler; destination_link.cpp, "Where a link runs").
bool runs_on_io_thread(const config::destination_config& dest);

destination_link_actor spawn_destination_link(caf::actor_system& sys, std::shared_ptr<const replication_context> ctx,
                                  config::destination_config dest, std::shared_ptr<instance_groups> groups,
                                  link_options options = {});

} // namespace tandem
