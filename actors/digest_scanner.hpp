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
// A scan reads every durable record through a cursor (disk I/O), so the scanner runs detached
// (its own thread), never on a CAF scheduler thread, and apart from the journal readers the links
// depend on. Requests queue and run one at a time: the node does at most one scan at once.
#pragma once

#include <memory>
#include <string>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>

#include "actors/logic/anti_entropy.hpp"

namespace tandem {

namespace journal {
class journal;
}

namespace atoms {
using digest = caf::atom_constant<caf::atom("tdigest")>; // digest scanner: summarise one origin
} // namespace atoms

// Scans `log` from its oldest record to its durable end of the call; the digest, the journal's
// figures for the origin, or an error naming the cause. Blocking: call it off the scheduler.
std::string scan_digest_json(const journal::journal& log, const anti_entropy::digest_query& q);

class journal_runtime;
caf::actor spawn_digest_scanner(caf::actor_system& sys, std::shared_ptr<journal_runtime> runtime);

} // namespace tandem
