// Pure encode/decode of one journal record (layout: record_format.hpp). No I/O, no allocation
// beyond the output record/string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "journal/errc.hpp"

namespace tandem::journal {

// One journal record as the node sees it.
//
// On append: `seq` is ignored (the journal assigns it). An empty `origin` means "published here":
// the journal sets origin to its own instance name and origin_seq to the assigned seq. `path` is
// stored as given (the caller appends its own instance name when it forwards a record).
struct record {
  std::uint64_t seq = 0;
  std::string origin;
  std::uint64_t origin_seq = 0;
  std::string publisher;
  std::uint64_t publisher_seq = 0;
  std::vector<std::string> path;
  std::int64_t timestamp_ns = 0;
  std::string topic;
  std::string payload;

  friend bool operator==(const record&, const record&) = default;
};

// Bytes `r` occupies on disk. Meaningful only when validate_record(r) is ok.
std::size_t encoded_size(const record& r) noexcept;

// Checks every field against the documented maximums. `origin` must be non-empty here (append
// fills it in for local publishes before validating).
status validate_record(const record& r);

// Appends the encoded record to `out`. Precondition: validate_record(r).ok().
void encode_record(const record& r, std::string& out);

// As above, with seq and origin given separately (the journal assigns seq, and fills in origin for
// local publishes, without copying the record). `r.seq`, `r.origin` and `r.origin_seq` are ignored.
std::size_t encoded_size(const record& r, std::string_view origin) noexcept;
status validate_record(const record& r, std::string_view origin);
void encode_record(const record& r, std::uint64_t seq, std::string_view origin, std::uint64_t origin_seq,
                   std::string& out);

enum class check_outcome {
  ok,         // a complete, valid record of `length` bytes starts at the buffer's beginning
  incomplete, // the buffer ends before the record does (at end of file: a torn tail)
  invalid,    // checksum mismatch, zero fill, impossible length or inconsistent field sizes
};

struct check_result {
  check_outcome outcome;
  std::uint32_t length = 0;  // valid when outcome == ok
  const char* reason = "";   // static string, set when outcome != ok
};

// Validates the record starting at buf[0]. After `invalid` nothing in the header can be trusted,
// including its length: the caller must not use it to skip ahead.
check_result check_record(std::string_view buf) noexcept;

// Decodes a record that check_record() accepted.
record decode_record(std::string_view buf);

// Cheap field peeks for a record that check_record() accepted.
std::uint64_t peek_seq(std::string_view buf) noexcept;
std::int64_t peek_timestamp(std::string_view buf) noexcept;
std::uint64_t peek_origin_seq(std::string_view buf) noexcept;
std::string_view peek_origin(std::string_view buf) noexcept;
std::uint64_t peek_publisher_seq(std::string_view buf) noexcept;
std::string_view peek_publisher(std::string_view buf) noexcept;

} // namespace tandem::journal
