// The digest scanner (issue 17, part 7): computes anti-entropy digests (logic/anti_entropy.hpp)
// of the node's journal for GET /digest and, later, for the links' background comparison.
//
//   (digest, origin, from, to, to_given, buckets) -> std::string
//       JSON: the digest (anti_entropy::to_json) plus "highest_origin_seq" (what the journal
//       knows of the origin, removed records included), "lowest_origin_seq" (the lowest one held
//       in the range, 0: none) and "removed_through" (the highest
//       origin_seq of the origin retention removed: buckets at or below it cannot be compared);
//       or {"error": ...} when the request is invalid or the scan failed.
//
//   (digest, protocol::digest_request, logic::scan_interest_ptr) -> protocol::digest_reply
//       the same for a 1.5 digest_request: a peer's (replication_connection.cpp answers it) or a
//       link's own half of a comparison (destination_link.cpp). The reply's error is set when
//       the scan failed. The interest is the asker's (logic/scan_interest.hpp): dropped once its
//       connection ended, and then the request is not scanned, or its scan ends at the next
//       record, answered "the asker is gone" (logged), so that reconnects do not pile up scans.
//
//   (repair_read, ...) -> repair_chunk, (repair, ...) -> repair_result
//       anti-entropy repair's reads and stores (repair_scan.hpp), on this thread too. A repair's
//       wait for the journal to make its records durable (up to 60 s) is a request, not a
//       blocking receive: digests and repair reads are answered meanwhile, while further repairs
//       queue behind it (one repair at a time). The receiver's index of what it holds
//       (repair_planner) lives here for a repair session and is dropped a minute after its last
//       repair_batch.
//
// A scan reads every durable record through a cursor (disk I/O), so the scanner runs detached
// (its own thread), never on a CAF scheduler thread, and apart from the journal readers the links
// depend on. Requests queue and run one at a time: the node does at most one scan at once.
#pragma once

#include <memory>
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "actors/logic/anti_entropy.hpp"
#include "actors/logic/scan_interest.hpp"
#include "actors/replication_messages.hpp" // CAF_ALLOW_UNSAFE_MESSAGE_TYPE of the digest frames
#include "protocol/messages.hpp"

namespace tandem {

namespace journal {
class journal;
}

namespace atoms {
using digest = caf::atom_constant<caf::atom("tdigest")>; // digest scanner: summarise one origin
} // namespace atoms

// What one scan found: the digest and the journal's figures for the origin, or an error.
struct digest_scan {
  anti_entropy::digest digest;
  std::uint64_t highest_origin_seq = 0; // what the journal knows of the origin, removed records included
  std::uint64_t lowest_origin_seq = 0;  // the lowest held in the range; 0: none
  std::uint64_t removed_through = 0;    // retention removed the origin's seqs up to here
  std::string error;                    // non-empty: the request was invalid or the scan failed
};

// Scans `log` from its oldest record to its durable end of the call, unless `interest` is dropped
// (none: always wanted). Blocking: call it off the scheduler.
digest_scan scan_digest(const journal::journal& log, const anti_entropy::digest_query& q,
                        const logic::scan_interest* interest = nullptr);
// The same as the admin endpoint's JSON.
std::string scan_digest_json(const journal::journal& log, const anti_entropy::digest_query& q);

class journal_runtime;
caf::actor spawn_digest_scanner(caf::actor_system& sys, std::shared_ptr<journal_runtime> runtime);

} // namespace tandem

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::logic::scan_interest_ptr)
