// The journal's extent file ("extent") and its base file ("base"): what open() must find on disk.
//
// Segment files alone cannot show that one is missing: a journal whose active segment was deleted
// looks like a journal whose last sealed segment is the active one, and a journal whose oldest
// segment was deleted looks like one retention trimmed. The extent file records, cheaply (never per
// append), the facts that let open() tell these apart and refuse (docs/journal-format.md, "Extent"):
//
//   tandem-extent 1
//   base 1763808000123456      the journal's base (must agree with the "base" file)
//   oldest 1763808000123456    first seq of the oldest segment that must exist
//   active 1763808000127000    first seq of the active segment, which must exist
//   durable 1763808000127999   every seq up to this one was durable when the file was written
//   crc 1a2b3c4d               masked CRC32C of all preceding bytes, 8 hex digits
//
// Written atomically (temp + fsync + rename + fsync dir) by open(), after a seal has created the
// new active segment file, before retention unlinks a segment, and at a retention pass when the
// durable seq moved. Every field only grows. Worked example: segments 1..4711 (sealed) and 4712..
// (active) with durable seq 5000 at the last retention pass give "oldest 1", "active 4712",
// "durable 5000"; open() then refuses a directory without 00000000000000004712.seg, without
// 00000000000000000001.seg, or whose records end before seq 5000.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "journal/errc.hpp"
#include "journal/file_io.hpp"

namespace tandem::journal {

struct journal_extent {
  std::uint64_t base = 1;
  std::uint64_t oldest = 1;
  std::uint64_t active = 1;
  std::uint64_t durable = 0; // base - 1 when nothing is known durable
  friend bool operator==(const journal_extent&, const journal_extent&) = default;
};

std::string encode_extent(const journal_extent& e);
// errc::corruption naming `path` for anything but a well-formed file with a matching crc and
// consistent fields (base <= oldest <= active, durable >= base - 1).
result<journal_extent> decode_extent(std::string_view text, const std::string& path);
// The extent file of the journal in `dir` (dir/extent), decoded; nullopt when there is none.
result<std::optional<journal_extent>> read_extent_file(file_system& fs, const std::string& dir);

// The "base" file: ASCII decimal seq >= 1 (at most 19 digits) followed by one newline and nothing
// else; anything else is nullopt (open() calls that corruption).
std::optional<std::uint64_t> parse_base_file(std::string_view text);

} // namespace tandem::journal
