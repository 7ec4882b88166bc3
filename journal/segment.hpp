// Segment files: naming, and the forward scanner that recovery, verify and index rebuilds share.
#pragma once

#include <atomic>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "journal/errc.hpp"
#include "journal/file_io.hpp"
#include "journal/record_codec.hpp"
#include "journal/segment_index.hpp"

namespace tandem::journal {

// "00000000000000000001.seg": the first seq, zero-padded to 20 digits so names sort like seqs.
std::string segment_file_name(std::uint64_t first_seq);
std::string index_file_name(std::uint64_t first_seq);
// The first seq encoded in a segment file name, or nullopt for any other name.
std::optional<std::uint64_t> parse_segment_file_name(std::string_view name);
// The first seqs of the segment files in `dir`, sorted; the names of everything else there are
// appended to *others when given.
result<std::vector<std::uint64_t>> list_segment_files(file_system& fs, const std::string& dir,
                                                      std::vector<std::string>* others = nullptr);

enum class scan_end {
  clean,      // the file ends exactly after a valid record (or is empty)
  torn_tail,  // an invalid or incomplete record at `bad_offset` and no valid record after it
  corruption, // an invalid record followed by a valid one, or a sequence gap
};

struct scan_result {
  segment_summary summary;       // valid records only; summary.bytes = end of the last valid one
  std::uint64_t file_bytes = 0;
  scan_end end = scan_end::clean;
  std::uint64_t bad_offset = 0;  // where the first invalid record starts (end != clean)
  std::string reason;            // why that record is invalid (and, for corruption, what follows)
  // For end != clean: incomplete = the file ends inside that record (what a crash during its write
  // leaves); invalid = its bytes are there but fail the check (zero fill, checksum, lengths).
  check_outcome bad_outcome = check_outcome::ok;
  // For end == clean: zeros after the last valid record up to the file's end (a preallocated
  // tail, writable_file::preallocate; docs/journal-format.md). Not data: open() cuts them.
  std::uint64_t zero_tail_bytes = 0;
  // The caller's `stop` was set: the scan ended before the record at summary.bytes, unread (the
  // summary covers what was read; nothing is known of the rest).
  bool stopped = false;
};

// Called for every valid record with its offset and bytes (valid for the duration of the call).
using record_visitor = std::function<void(std::uint64_t offset, std::string_view record)>;

// Reads `file` from the start, checking every record and that seqs run densely from `first_seq`.
// After an invalid record the scanner distrusts that record's length (it may be the corrupt
// field) and searches byte by byte for any later valid record with a higher seq: finding one means
// the damage is not a torn tail but corruption. Only I/O failures are returned as errors; the
// caller decides what a torn tail means (fine for the last segment, corruption for a sealed one).
// `stop` (none: never) is read before each record: once set, the scan ends with `stopped`.
result<scan_result> scan_segment(const readable_file& file, std::uint64_t first_seq,
                                 const record_visitor& visit = {}, const std::atomic<bool>* stop = nullptr);

} // namespace tandem::journal
