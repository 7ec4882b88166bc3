// Checks a record against the journal's limits BEFORE it goes to the journal (issue 14, defect 6).
//
// The journal refuses a record that breaks its format's limits (journal/record_format.hpp:
// origin, publisher and each path entry 1..255 bytes -- publisher may be empty --, at most 32
// path entries, topic <= 65535 bytes, payload <= 16 MiB) with errc::record_too_large or
// invalid_argument -- for the whole batch, from the committer's thread. The journal actor used to
// learn it only there, and then handled it like a disk failure (marks dropped, other clients'
// held publishes refused). Checking here, per record, keeps bad input and I/O errors apart:
//   * a publish: only the offending records are refused (their own negative ack); the rest of
//     the batch is stored as usual;
//   * a replicated batch from a peer: the peer claims a record it cannot have; the whole batch is
//     refused with the distinct code `invalid_record` and the caller closes that connection.
// The protocol decoder checks these limits first (protocol/); this is the second line of defence
// and holds whatever the decoder let through. Wire checks use the same constants.
//
// Pure: no I/O, no state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "journal/record_codec.hpp"
#include "protocol/messages.hpp"

namespace tandem::logic {

// Error codes (append_reply::error_code / refusal::code) for records refused before the journal.
inline constexpr std::string_view record_too_large_code = "record_too_large"; // topic or payload too long
inline constexpr std::string_view invalid_field_code = "invalid_field";       // a name or the path breaks the rules
// A replicated batch with such a record: the peer broke the protocol (not a disk failure).
inline constexpr std::string_view invalid_record_code = "invalid_record";

struct record_problem {
  std::string code;   // record_too_large_code or invalid_field_code
  std::string reason; // names the field, its size and the limit
};

// Empty when the journal can store `r`. `origin`: the record's origin (a publish has none yet:
// pass the node's own name, which the journal fills in).
std::optional<record_problem> check_record_limits(const journal::record& r, std::string_view origin);

// The negative-ack reason for a refused publish, by error code (append_reply::error_code or
// refusal::code): queue_full, record_too_large, invalid_field, topic_too_long and overloaded
// map to themselves, stopped (the node's shutdown) to shutting_down, anything else (a journal
// errc: io_error, no_space, ...) to journal_error.
protocol::nack_reason nack_reason_for(std::string_view code);
// Its name, for the per-reason rejection counters ("journal_error" for journal errcs).
std::string_view nack_reason_name(protocol::nack_reason reason);

} // namespace tandem::logic
