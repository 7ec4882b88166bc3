// Where a destination link resumes after a (re)connect, and why: one pure function (the shape of
// Redis's PSYNC decision: the replica says where it stands, one function answers "continue from
// here" or says what it cannot do and why). No CAF, sockets or clocks.
//
// Inputs (all seqs are THIS node's local seqs, X-local in routing.hpp's terms):
//   peer_holds   the destination's first durable_ack on the connection: the highest seq of ours it
//                says it durably holds (its resume point; docs/protocol.md step 4).
//   durable_seq  our head: the most any peer can hold (logic/peer_claims.hpp).
//   base_seq     our journal's first-ever seq; seqs below it never existed in this journal
//                (docs/journal-format.md), so a position below base - 1 counts as base - 1.
//   first_held   the oldest seq retention kept (durable_seq + 1 when nothing is held; 0: unknown,
//                no retention check).
//   covered      the link's own coverage (link_window::coverage()): confirmed = everything up to
//                it is durable at the destination or was filtered out for it; sent_confirmed = the
//                highest record actually SENT and confirmed (every seq between the two was
//                filtered); refill = the destination is a new incarnation (routing.hpp, REFILL), so
//                its own earlier records, filtered so far, are routed to it again and what was
//                covered by filtering them counts no more: the peer's position is taken as it is.
//
// The answer, checked in this order (the first that applies names the reason):
//   claim_beyond_head     peer_holds > durable_seq: a claim it cannot have. No resume: the caller
//                         closes the connection as a protocol violation (violation is set).
//   below_retention       the resume point + 1 is below first_held: records in between were
//                         removed by retention (every destination still holding had acked them:
//                         this peer holds less than it once did, or journal.max_held_bytes released
//                         it while it was away). Resume after first_held - 1; `skipped` names the
//                         records this destination will not receive.
//   refill               refill and p < confirmed: resume after p.
//   peer_holds_less       p < sent_confirmed: it holds less than it once confirmed (it lost its
//                         disk, or it is another server of the destination): resume after p.
//   covered_by_filtering  sent_confirmed <= p < confirmed: everything in (p, confirmed] was
//                         filtered out for it: resume after confirmed, nothing resent.
//   before_journal_base   peer_holds < base_seq - 1 (it holds nothing of this journal): resume
//                         after base_seq - 1.
//   continue_at_peer      otherwise (p >= confirmed): resume right after p.
// where p = max(peer_holds, base_seq - 1).
//
// Worked example. base 1, durable 100, retention kept 41..100. The link had sent up to 30 and
// been acked there, then read 31..35 that its filter rejected: confirmed 35, sent_confirmed 30.
//   peer_holds 35 -> continue_at_peer,     resume after 35 (reads 36 next)
//   peer_holds 32 -> covered_by_filtering, resume after 35 (31..35 were never for it)
//   peer_holds 20 -> peer_holds_less,      resume after 20 ... but 21..40 were removed, so:
//                    below_retention,      resume after 40, skipped 21..40
//   peer_holds 101 -> claim_beyond_head    (nothing resumes; the connection is closed)
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "actors/logic/peer_claims.hpp"

namespace tandem::logic {

enum class resume_reason : std::uint8_t {
  continue_at_peer,
  covered_by_filtering,
  peer_holds_less,
  refill,
  before_journal_base,
  below_retention,
  claim_beyond_head,
};
inline constexpr std::size_t resume_reason_count = 7;

// The label used in logs, /status (destinations[].resumes) and /metrics (reason label).
std::string_view to_string(resume_reason reason);

// An inclusive range of seqs; empty when first == 0.
struct seq_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  bool empty() const noexcept { return first == 0 || last < first; }
  std::uint64_t size() const noexcept { return empty() ? 0 : last - first + 1; }
};

// The link's coverage, as link_window keeps it (see the header comment).
struct link_coverage {
  std::uint64_t confirmed = 0;
  std::uint64_t sent_confirmed = 0;
  bool refill = false;
};

struct resume_input {
  std::uint64_t peer_holds = 0;
  std::uint64_t durable_seq = 0;
  std::uint64_t sent_bound = 0; // journal::sendable_seq() (issue 19): a claim up to it is believed too
  std::uint64_t base_seq = 1;
  std::uint64_t first_held = 0;
  link_coverage covered;
};

struct resume_decision {
  resume_reason reason = resume_reason::continue_at_peer;
  std::uint64_t peer_position = 0; // p: the claim as it counts, max(peer_holds, base_seq - 1)
  std::uint64_t resume_after = 0;  // the next record read is resume_after + 1
  seq_range skipped;               // below_retention: what the destination will not receive
  std::optional<claim_violation> violation; // claim_beyond_head only
};

resume_decision decide_resume(const resume_input& in);

// The records below first_held from next_read on (what retention removed under a read position),
// empty when none. decide_resume uses it at connect time; the link asks it again when retention
// removes records under a read already under way.
seq_range retention_gap(std::uint64_t next_read, std::uint64_t first_held);

} // namespace tandem::logic
