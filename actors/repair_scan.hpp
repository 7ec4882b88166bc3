// The journal reads of anti-entropy repair (issue 17, part 7; protocol 1.6; the decisions are
// logic/anti_entropy_repair.hpp). Both run on the digest scanner's detached thread
// (digest_scanner.hpp), never on a CAF scheduler thread:
//
//   (repair_read, origin, first, last, max_bytes) -> repair_chunk
//       sending side: the records of `origin` with origin_seq in [first, last] this journal
//       holds, in journal order, up to about max_bytes (at least one record), as the link would
//       send them (path + this node). `through`: the highest origin_seq the chunk covers.
//       Precondition: the origin's records lie in the journal in origin_seq order (true for this
//       node's own origin, the only one the links repair).
//   (repair, records, journal, via_peer, via_address) -> repair_result
//       receiving side: plan_repair reads which of the records the journal holds (or retention
//       removed) through a repair_planner, the scanner appends the others as ONE repair append
//       (journal_actor append_request::repair) and answers once they are durable
//       (finish_repair). The durable wait is a request, not a blocking receive: the scanner
//       answers digests meanwhile, and holds the next repair back until this one is answered,
//       so no two repairs store one record twice.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include "actors/journal_actor.hpp"
#include "actors/logic/anti_entropy_repair.hpp"
#include "actors/logic/scan_interest.hpp"
#include "journal/errc.hpp"
#include "journal/record_codec.hpp"
#include "protocol/messages.hpp"

namespace tandem {

namespace journal {
class journal;
}

namespace atoms {
using repair_read = caf::atom_constant<caf::atom("trep_read")>; // digest scanner: read a repair range
using repair = caf::atom_constant<caf::atom("trepair")>;        // digest scanner: store a repair_batch
} // namespace atoms

struct repair_chunk {
  std::vector<protocol::record> records;
  std::uint64_t through = 0; // origin_seqs up to here are covered
  std::string error;         // non-empty: the read failed (the range is dropped, found again later)
};

struct repair_result {
  std::uint64_t records = 0;
  std::uint64_t stored = 0;
  std::string error; // non-empty: nothing may be assumed stored; the connection closes
  bool peer_fault = false; // the error is the peer's: a record breaks the journal's limits
};

using repair_records = std::shared_ptr<std::vector<journal::record>>;

// Calls visit(record bytes) for every durable record from seq `from` (at least the oldest held)
// up to the durable end of the call, while it returns true. Blocking (disk reads): off the
// scheduler only. Retention removing the segment under the cursor ends it with errc::trimmed;
// the node's shutdown (journal::stop_scans) with errc::stopped "the node is shutting down", and
// a dropped `interest` (logic/scan_interest.hpp; none: always wanted) with errc::stopped "the
// asker is gone", each checked before every record.
journal::status visit_durable(const journal::journal& log, std::uint64_t from,
                              const std::function<bool(std::string_view)>& visit,
                              const logic::scan_interest* interest = nullptr);

repair_chunk read_repair(const journal::journal& log, const logic::repair_read& r, const std::string& sender);
// Which of `records` to store (logic::repair_verdicts, held = the journal holds it durably or
// retention removed it; a message held under another origin is a duplicate). Returns the error
// when the scan failed (then nothing is decided). A full scan of the journal per call: the
// fallback of repair_planner.
std::string repair_plan(const journal::journal& log, const std::vector<journal::record>& records,
                        std::vector<logic::verdict>& verdicts);

// The same verdicts from a logic::repair_index kept across calls: each call reads only the
// records made durable since the previous one, so a repair session of many repair_batches reads
// the journal about once instead of once per batch. Falls back to repair_plan (and clears the
// index) when the index overflows its bound. One journal per planner; not thread-safe.
class repair_planner {
public:
  explicit repair_planner(std::size_t max_entries = logic::repair_index::default_max_entries) : index_(max_entries) {}
  std::string plan(const journal::journal& log, const std::vector<journal::record>& records,
                   std::vector<logic::verdict>& verdicts);
  void clear() { index_.clear(); } // the session ended: the memory goes back
  const logic::repair_index& index() const noexcept { return index_; }
  std::uint64_t full_scans() const noexcept { return full_scans_; } // fallbacks taken

private:
  logic::repair_index index_;
  std::uint64_t full_scans_ = 0;
};

// The receiving side, step 1: the verdicts, and the records to append as one repair append
// (null when there is nothing to store or result.error is set: answer result at once).
struct repair_step {
  repair_result result;
  std::shared_ptr<std::vector<journal::record>> store;
};
repair_step plan_repair(repair_planner& planner, const journal::journal& log, const repair_records& records);
// Step 2: the journal's reply to that append (or the request's error, rendered).
void finish_repair(repair_result& out, const append_reply& rep);
void fail_repair(repair_result& out, const std::string& why);
// How long the scanner waits for the journal to make a repair durable before giving up on it
// (the connection then closes; the next comparison finds whatever is still missing).
inline constexpr std::chrono::seconds repair_durable_wait{60};

} // namespace tandem

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::repair_chunk)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::repair_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::repair_records)
