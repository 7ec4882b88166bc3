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
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "journal/errc.hpp"
#include "journal/file_io.hpp"

namespace tandem::journal {

// A released destination (see released_destinations below).
struct release_info {
  std::uint64_t from_seq = 0;
  std::int64_t since_ns = 0;
  friend bool operator==(const release_info&, const release_info&) = default;
};
using released_map = std::map<std::string, release_info, std::less<>>;

class retention_positions {
public:
  static result<retention_positions> load(file_system& fs, const std::string& dir,
                                          const std::vector<std::string>& configured,
                                          std::vector<std::string>* released, std::vector<std::string>* added);

  // Moves `destination`'s position forward (never backwards). errc::invalid_argument for a
  // destination that was not configured at open.
  status acknowledge(std::string_view destination, std::uint64_t seq);
  std::uint64_t position(std::string_view destination) const; // 0 for unknown destinations
  // A live reload (issue 21): a destination added at position 0 (it needs everything still held,
  // as a destination new at startup; a known one keeps its position), or removed (its hold goes;
  // the file forgets it at the next persist).
  status add(std::string_view destination);
  void remove(std::string_view destination);
  // The lowest position over all destinations except `ignored` (released ones); max() when none
  // is left (nothing holds).
  std::uint64_t min_position(const released_map& ignored = {}) const;
  const std::map<std::string, std::uint64_t, std::less<>>& all() const { return positions_; }

  // Persisting, in two steps so that the write can run without the lock that serialises this
  // object (the journal's retention lock: acknowledge() then never waits for the file's fsyncs).
  // take_changes(): the file's text when anything changed since the last take (dirty cleared),
  // nullopt when nothing did. write(text): replaces the file with it; the caller serialises
  // writes (an older text written last would take positions back). After a failed write,
  // mark_dirty() (under the lock) makes the next take give the current positions again.
  std::optional<std::string> take_changes();
  status write(std::string_view text);
  void mark_dirty() { dirty_ = true; }

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

// Released destinations (journal.max_held_bytes): a destination that held back more journal bytes
// than the limit no longer holds anything back; retention removes segments as if it had acked
// them. Kept in the "released" file beside "positions", same framing:
//   tandem-released 1
//   <name> <from_seq> <since_ns>   one line per released destination, names sorted
//   crc <8 hex digits>
// from_seq: the first seq it may miss (its position + 1 when it was released); since_ns: when
// (ns since the epoch). Written atomically BEFORE any segment is removed on the strength of a
// release, so a restart never finds a removal without the release that allowed it.

class released_destinations {
public:
  // Entries for destinations not in `configured` are dropped (their positions are dropped too).
  static result<released_destinations> load(file_system& fs, const std::string& dir,
                                             const std::vector<std::string>& configured);
  const released_map& all() const { return released_; }
  bool contains(std::string_view name) const { return released_.find(name) != released_.end(); }
  void release(const std::string& name, release_info info);
  void restore(std::string_view name); // holds again
  status persist();                     // writes the file if anything changed since the last persist

  static std::string encode(const released_map& released);
  static result<released_map> decode(std::string_view text, const std::string& path);

private:
  released_destinations(file_system& fs, std::string path) : fs_(&fs), path_(std::move(path)) {}
  file_system* fs_;
  std::string path_;
  released_map released_;
  bool dirty_ = false;
};

// One sealed segment as the hold rule sees it (seq order, oldest first, never the active one).
struct hold_segment {
  std::uint64_t last_seq = 0;
  std::uint64_t bytes = 0;
  bool old_enough = true; // retention_min_age allows its removal
};

// The hold rule: which destinations stop holding the journal back, and which hold it again.
// Pure: no I/O, no clock.
//
// "Held bytes" are the bytes retention keeps ONLY because destinations have not acked them: the
// bytes of the sealed segments that the age rule would let go (the prefix of `segments` that are
// old_enough: removal is prefix-only, so a segment after a young one is kept by the age anyway)
// whose last seq some holding (not released) destination has not acked. A destination's own hold
// is the same sum over the segments IT has not acked, so the held bytes are the largest hold.
//
// Order of the decision, in one call:
//   1. restore: a released destination whose own hold over ALL sealed segments is 0 (it acked the
//      newest sealed segment's last seq: everything retention could remove) holds again. Chosen
//      over "acked the oldest record held" because a destination restored while it still lags
//      would hold the journal back again at once, past the limit, and be released again at the
//      next pass (flapping); restored at hold 0 it starts from nothing held.
//   2. release: while the held bytes exceed max_held_bytes, the holding destination with the
//      largest hold (the lowest position; ties: the first name) is released. Strictly greater:
//      held == max_held_bytes releases nothing.
//   max_held_bytes 0 = unlimited: nothing is ever released, and every released destination holds
//   again at once (the limit was removed from the config: defaults keep data; what was removed
//   while it was released stays gone).
//
// Worked example. segments (last_seq, bytes): (10, 100) (20, 100) (30, 100), all old enough;
// positions east 30, west 10, north 0; limit 150. Holds: east 0, west 200, north 300.
//   held 300 > 150: release north (from_seq 1). held 200 > 150: release west (from_seq 11).
//   held 0: done. With limit 200: only north. With limit 300: nobody.
struct hold_decision {
  std::vector<std::string> released; // newly released, in the order decided
  std::vector<std::string> restored;  // released before, holding again
  std::uint64_t held_bytes = 0;       // after the decision, by the destinations still holding
};
hold_decision decide_holds(const std::vector<hold_segment>& segments,
                           const std::map<std::string, std::uint64_t, std::less<>>& positions,
                           const released_map& released, std::uint64_t max_held_bytes);
// A destination's hold: bytes of the prefix of `segments` that are old_enough (or all of them
// when `all` is set) with records after `position`.
std::uint64_t hold_of(const std::vector<hold_segment>& segments, std::uint64_t position, bool all = false);

// The removal rule for one sealed segment (never the active one): every destination acknowledged
// all its records, and its newest record is at least min_age_ns old (0 = no age requirement).
inline bool segment_removable(std::uint64_t last_seq, std::int64_t newest_timestamp_ns, std::uint64_t min_acked,
                              std::int64_t now_ns, std::int64_t min_age_ns) {
  if (min_acked < last_seq) return false;
  return min_age_ns <= 0 || now_ns - newest_timestamp_ns >= min_age_ns;
}

} // namespace tandem::journal
