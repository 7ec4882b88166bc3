// The journal's on-disk record format, written down once (prose, grammar and a worked example with
// real bytes: docs/journal-format.md). Everything is little-endian.
//
// A segment file is a sequence of records and nothing else. Each record:
//
//   off size field
//   0   4    crc            masked CRC32C of bytes [4, length) -- i.e. everything after it
//   4   4    length         total bytes of this record, crc and length included
//   8   1    type           record_type; 0 never appears in a valid record (zero fill = torn tail)
//   9   1    origin_len     1..max_name_bytes
//   10  1    publisher_len  0..max_name_bytes
//   11  1    path_count     0..max_path_entries
//   12  2    topic_len      0..max_topic_bytes
//   14  2    reserved       must be 0
//   16  8    seq            local sequence number: each record's is the previous one's + 1 (no
//                           gaps within a segment; between two segments only a range the
//                           "skipped" file records, seq_reservation.hpp); the first is the journal's base (1, or the
//                           wall-clock base tandemd gives a new journal: docs/journal-format.md),
//                           and after retention the oldest record held is above the base
//   24  8    origin_seq     sequence number at the origin instance
//   32  8    publisher_seq  publisher's own sequence number (duplicate detection)
//   40  8    timestamp_ns   nanoseconds since the Unix epoch (signed)
//   48  4    payload_len    0..max_payload_bytes
//   52  ...  origin bytes, publisher bytes, path entries (u8 len + bytes, 1..max_name_bytes each),
//            topic bytes, payload bytes
//
// length == header_bytes + origin_len + publisher_len + sum(1 + path entry len) + topic_len +
// payload_len exactly; a record whose parts do not add up is invalid like a checksum mismatch.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem::journal::format {

enum class record_type : std::uint8_t {
  invalid = 0, // zero-filled space (preallocation, torn write); never written
  message = 1, // a published or replicated message
};

inline constexpr std::size_t crc_offset = 0;
inline constexpr std::size_t length_offset = 4;
inline constexpr std::size_t type_offset = 8;
inline constexpr std::size_t origin_len_offset = 9;
inline constexpr std::size_t publisher_len_offset = 10;
inline constexpr std::size_t path_count_offset = 11;
inline constexpr std::size_t topic_len_offset = 12;
inline constexpr std::size_t reserved_offset = 14;
inline constexpr std::size_t seq_offset = 16;
inline constexpr std::size_t origin_seq_offset = 24;
inline constexpr std::size_t publisher_seq_offset = 32;
inline constexpr std::size_t timestamp_offset = 40;
inline constexpr std::size_t payload_len_offset = 48;
inline constexpr std::size_t header_bytes = 52;
// The crc covers [checksummed_from, length).
inline constexpr std::size_t checksummed_from = 4;

// Documented maximums; append rejects a record exceeding any of them with errc::record_too_large.
inline constexpr std::size_t max_name_bytes = 255;     // origin, publisher, each path entry
inline constexpr std::size_t max_path_entries = 32;
inline constexpr std::size_t max_topic_bytes = 65535;
inline constexpr std::size_t max_payload_bytes = 16u << 20; // 16 MiB, the default max frame size
inline constexpr std::size_t max_record_bytes =
    header_bytes + 2 * max_name_bytes + max_path_entries * (1 + max_name_bytes) + max_topic_bytes +
    max_payload_bytes;

// Segment files: "<first seq, 20 digits zero-padded>.seg"; sealed segments get a sparse index
// sidecar "<same>.idx" (segment_index.hpp). Retention positions live in "positions",
// released destinations in "released".
inline constexpr const char* segment_suffix = ".seg";
inline constexpr const char* index_suffix = ".idx";
inline constexpr const char* positions_file = "positions";
inline constexpr const char* released_file = "released"; // journal.max_held_bytes (retention.hpp)
inline constexpr const char* lock_file = "LOCK";
inline constexpr std::size_t seq_digits = 20;

// One sparse index entry per this many segment bytes (the first record always has one).
inline constexpr std::uint64_t index_interval_bytes = 64 * 1024;

} // namespace tandem::journal::format
