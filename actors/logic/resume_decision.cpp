#include "actors/logic/resume_decision.hpp"

#include <algorithm>

namespace tandem::logic {

std::string_view to_string(resume_reason reason) {
  switch (reason) {
    case resume_reason::continue_at_peer: return "continue_at_peer";
    case resume_reason::covered_by_filtering: return "covered_by_filtering";
    case resume_reason::peer_holds_less: return "peer_holds_less";
    case resume_reason::refill: return "refill";
    case resume_reason::before_journal_base: return "before_journal_base";
    case resume_reason::below_retention: return "below_retention";
    case resume_reason::claim_beyond_head: return "claim_beyond_head";
  }
  return "unknown";
}

seq_range retention_gap(std::uint64_t next_read, std::uint64_t first_held) {
  if (next_read == 0 || first_held <= next_read)
    return {};
  return {next_read, first_held - 1};
}

resume_decision decide_resume(const resume_input& in) {
  resume_decision d;
  if (auto v = check_resume_point(in.peer_holds, in.durable_seq, in.sent_bound)) {
    d.reason = resume_reason::claim_beyond_head;
    d.violation = std::move(v);
    return d;
  }
  const std::uint64_t before_base = in.base_seq > 0 ? in.base_seq - 1 : 0;
  const std::uint64_t p = std::max(in.peer_holds, before_base);
  const auto& c = in.covered;
  d.peer_position = p;
  // Everything between sent_confirmed and confirmed was filtered out: a peer at or above
  // sent_confirmed holds every record it ever confirmed, so nothing below confirmed is resent.
  // Refill makes that filtering count no more.
  const bool keep_filtered = !c.refill && p >= c.sent_confirmed;
  d.resume_after = keep_filtered ? std::max(c.confirmed, p) : p;
  if (c.refill && p < c.confirmed)
    d.reason = resume_reason::refill;
  else if (p < c.sent_confirmed)
    d.reason = resume_reason::peer_holds_less;
  else if (p < c.confirmed)
    d.reason = resume_reason::covered_by_filtering;
  else if (in.peer_holds < before_base)
    d.reason = resume_reason::before_journal_base;
  else
    d.reason = resume_reason::continue_at_peer;
  d.skipped = retention_gap(d.resume_after + 1, in.first_held);
  if (!d.skipped.empty()) {
    d.reason = resume_reason::below_retention;
    d.resume_after = d.skipped.last;
  }
  return d;
}

} // namespace tandem::logic
