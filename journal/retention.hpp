// Retention: each destination's acknowledged position, persisted atomically, and the rule that
// decides when a sealed segment may be removed.
//
// Positions are "every record with seq <= position has been received by the destination". A
// destination configured now but absent from the persisted file starts at 0: it needs everything
// still in the journal. A persisted destination no longer configured is dropped (its hold is
// released) and named in recovery_report::released_destinations.
//
// The "positions" file is text, so an operator can read it:
//   tandem-positions 1
//   <name> <seq>            one line per destination, names sorted
//   crc <8 hex digits>      masked CRC32C of all preceding bytes
// It is replaced with write-temp + fsync + rename + fsync-dir (file_system::write_file_atomic).
//
// Not thread-safe by itself; the journal serialises access.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "journal/errc.hpp"
#include "journal/file_io.hpp"

namespace tandem::journal {

class retention_positions {
public:
  static result<retention_positions> load(file_system& fs, const std::string& dir,
                                          const std::vector<std::string>& configured,
                                          std::vector<std::string>* released, std::vector<std::string>* added);

  // Moves `destination`'s position forward (never backwards). errc::invalid_argument for a
  // destination that was not configured at open.
  status acknowledge(std::string_view destination, std::uint64_t seq);
  std::uint64_t position(std::string_view destination) const; // 0 for unknown destinations
  // The lowest position over all destinations; max() when none is configured (nothing holds).
  std::uint64_t min_position() const;
  const std::map<std::string, std::uint64_t, std::less<>>& all() const { return positions_; }

  bool dirty() const { return dirty_; }
  status persist(); // writes the file if anything changed since the last persist

  static std::string encode(const std::map<std::string, std::uint64_t, std::less<>>& positions);
  static result<std::map<std::string, std::uint64_t, std::less<>>> decode(std::string_view text, const std::string& path);
  static status validate_name(std::string_view name);

private:
  retention_positions(file_system& fs, std::string path) : fs_(&fs), path_(std::move(path)) {}
  file_system* fs_;
  std::string path_;
  std::map<std::string, std::uint64_t, std::less<>> positions_;
  bool dirty_ = false;
};

// The removal rule for one sealed segment (never the active one): every destination acknowledged
// all its records, and its newest record is at least min_age_ns old (0 = no age requirement).
inline bool segment_removable(std::uint64_t last_seq, std::int64_t newest_timestamp_ns, std::uint64_t min_acked,
                              std::int64_t now_ns, std::int64_t min_age_ns) {
  if (min_acked < last_seq) return false;
  return min_age_ns <= 0 || now_ns - newest_timestamp_ns >= min_age_ns;
}

} // namespace tandem::journal
