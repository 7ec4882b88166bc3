// What a replication peer may claim to hold of THIS node's journal (issue 14, defect 7).
//
// A destination tells our link where it stands with durable_ack{seq}: the first one on a
// connection is its resume point ("I durably hold your journal up to seq"), later ones ack the
// batches we sent. Both are X-local seqs of this node, so both have a hard upper bound:
//   resume point  <= the highest seq this node has made durable (the link only ever sends
//                    durable records; a journal's seqs only grow, across restarts too, and a new
//                    incarnation starts above every seq of the old one: docs/journal-format.md)
//   later ack     <= the highest seq sent on this connection, or the resume point if higher
//                    (a peer acks only seqs of batches it received: docs/protocol.md step 5)
// A claim above its bound cannot be true: a peer impersonating this node's name earlier (B then
// stores "our" records at seqs we never wrote), two live nodes with one instance name, or a
// broken peer. Believing it would make the link skip records and release sync persisted acks
// for records the destination never received. So it is a protocol violation: the link closes
// the connection with close{protocol_violation}, logs the claim and the bound, counts it, and
// releases nothing on it. Authentication is a separate matter; this check holds without it.
//
// Example: this node's durable seq is 1000. A hello-time durable_ack{1000} resumes after 1000;
// durable_ack{1001} is a violation. After sending batches ending at 1010 and 1020, acks up to
// 1020 are fine, 1021 is a violation.
//
// Plain C++: no CAF, sockets or clocks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::logic {

enum class claim_kind {
  resume_above_journal, // resume point above this node's durable journal
  ack_above_sent,       // ack above what was sent on the connection
};

// The label used in logs, /status and /metrics.
std::string_view to_string(claim_kind kind);

struct claim_violation {
  claim_kind kind;
  std::uint64_t claimed = 0;
  std::uint64_t bound = 0; // the highest value the peer could have claimed
  std::string describe() const; // for the log and the close frame's reason
};

// The first durable_ack of a connection, against this node's durable seq. `sent_bound` (issue 19,
// sending before durable, journal/seq_reservation.hpp): the highest seq this node may have sent
// before it was durable -- journal::sendable_seq() while running (the link passes it). After a
// host crash open skips the reservation (the partner may durably hold records this node lost with
// its page cache) and the durable seq becomes its end, so durable_seq covers that case. The bound is max(durable_seq, sent_bound); 0 (the default, no reservation) keeps the rule
// above.
std::optional<claim_violation> check_resume_point(std::uint64_t claimed, std::uint64_t durable_seq,
                                                  std::uint64_t sent_bound = 0);
// A later durable_ack, against link_window::ack_bound().
std::optional<claim_violation> check_ack(std::uint64_t claimed, std::uint64_t ack_bound);

} // namespace tandem::logic
