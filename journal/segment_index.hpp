// The sparse index of one segment, and its sidecar file "<first seq>.idx" written when the segment
// is sealed, so that open() never rescans sealed segments.
//
// Sidecar layout (little-endian): magic u32 "TJIX", version u32, first_seq u64, last_seq u64,
// record_count u64, segment_bytes u64, max_timestamp_ns i64, entry_count u32, origin_count u32,
// entries {seq u64, offset u64}*, origins {len u8, name, origin_seq u64}*, masked crc32c u32 of all
// preceding bytes. A sidecar that fails any check, or whose segment_bytes differs from the
// segment's file size, is ignored and rebuilt by scanning (recovery_report::rebuilt_indexes).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tandem::journal {

struct index_entry {
  std::uint64_t seq = 0;
  std::uint64_t offset = 0; // byte offset of the record `seq` in the segment
  friend bool operator==(const index_entry&, const index_entry&) = default;
};

// Highest origin_seq per origin instance. In a sidecar it is cumulative: it covers this segment and
// every segment before it, including ones retention has removed.
using origin_map = std::map<std::string, std::uint64_t, std::less<>>;
void merge_origins(origin_map& into, const origin_map& from);

struct segment_summary {
  std::uint64_t first_seq = 0; // from the file name; the first record's seq when non-empty
  std::uint64_t last_seq = 0;  // first_seq - 1 when empty
  std::uint64_t record_count = 0;
  std::uint64_t bytes = 0;     // valid bytes (== file size for a sealed segment)
  std::int64_t max_timestamp_ns = 0;
  std::vector<index_entry> entries; // ascending; entries[0] is the first record when non-empty
  origin_map origins;

  // Records one more record of `length` bytes at `offset` (appends an index entry every
  // format::index_interval_bytes).
  void add(std::uint64_t seq, std::uint64_t offset, std::uint32_t length, std::int64_t timestamp_ns);
  // Drops everything at or beyond `offset` (a failed batch rolled back). Timestamps and origins are
  // not rolled back here; the journal tracks uncommitted origins separately.
  void truncate(std::uint64_t offset, std::uint64_t last_seq);
  // The index entry to start a forward scan for `seq` from: the last entry with entry.seq <= seq.
  index_entry seek_hint(std::uint64_t seq) const;
};

std::string encode_sidecar(const segment_summary& s);
std::optional<segment_summary> decode_sidecar(std::string_view data);

} // namespace tandem::journal
