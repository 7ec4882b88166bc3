// The seq reservation (issue 19 part 1, docs/journal-format.md "Seq reservation"): the rule that
// lets a node send a record to its sync destinations once it is WRITTEN (in the page cache), before
// its fdatasync completes, so that the local and the partner's fdatasyncs overlap, without ever
// numbering two different records with one seq.
//
// The hazard: a record sent before it is durable here may be stored by the partner and then lost
// here. A process crash (SIGKILL, abort) cannot lose it: write() returned, the kernel holds the
// bytes and the next open() finds them (and fdatasyncs them before anything else, journal.cpp
// open_active). A host crash (power loss, kernel panic) can: the journal then recovers to a seq L
// below what the partner holds under this origin, and numbering on from L + 1 would give those
// seqs to new, different records. A failed fdatasync can too: the journal rolls the written
// records back and would reuse their seqs.
//
// The rule:
//   * Before any seq above the durable seq is sent, the journal persists a RESERVATION R >= that
//     seq in the "reserve" file (atomic write + fsync + rename + fsync dir), with the boot id of the
//     host at that moment. Sync links may send up to sendable() = max(durable, min(written, R)).
//     R grows in steps (wanted()): one small file write per `step` / 2 records, nothing per append.
//   * A clean close makes everything durable and persists R = the last seq used or skipped.
//   * Open (decide_restart):  R <= L, or no file  -> clean: number on from L + 1.
//                             R > L, same boot     -> process crash: every record ever sent was
//                               written in this boot, so the kernel kept it and L covers it: from L + 1.
//                             R > L, other boot    -> host crash: seqs L + 1 .. R may be held by a
//                               partner with content lost here; they are SKIPPED: number on from R + 1.
//     The skip is made durable at once, before anything is appended or sent: the range goes to the
//     "skipped" file, then the journal starts its next segment at R + 1 (an empty segment file,
//     directory fsynced), so from then on the last seq it recovers is R (an empty segment's last
//     seq is its first - 1), whatever crash follows; readers step over the range.
//   * A failed write or fdatasync after a seq above the durable seq was exposed (after_failed_sync())
//     must not roll back and reuse those seqs: the journal skips durable + 1 .. R at once, as open
//     does after a host crash, and appends go on above it; if the disk refuses that too, it
//     refuses appends until the process restarts, and the open rule above then applies.
//
// Worked example (step 1000): durable 5000, written 5040, R 6000 -> sendable 5040. Written reaches
// 5501 (less than step / 2 left): wanted() says 6501 (written + step); until that file is written,
// links stop at 6000. The host loses power
// with 5600 written, 5450 durable and 5590 sent: open recovers L = 5450 (boot id changed), skips
// 5451..6501, and the next record is 6502. The partner's copies of 5451..5590 are this origin's
// records that no publisher was told persisted (a persisted ack needs local durability too); see
// docs/protocol.md "Sending before durable" for what the pair does with them.
//
// A plain class: no I/O, no clock, no thread. The journal does the file I/O around it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "journal/errc.hpp"
#include "journal/file_io.hpp"
#include "journal/seq_range.hpp"

namespace tandem::journal {

// The "reserve" file:
//   tandem-reserve 1
//   seq 1763808000127999        the reservation R (decimal, 1..20 digits, at most 2^64 - 1)
//   boot 3f1c...-...            the host's boot id when it was written (1..64 of [0-9a-f-]; "-" alone: unknown)
//   crc 1a2b3c4d                masked CRC32C of all preceding bytes, 8 hex digits
struct reservation_record {
  std::uint64_t seq = 0;
  std::string boot_id; // "-": unknown (treated as another boot at open)
  friend bool operator==(const reservation_record&, const reservation_record&) = default;
};

constexpr std::size_t max_boot_id_bytes = 64;

std::string encode_reservation(const reservation_record& r);
// errc::corruption naming `path` for anything but a well-formed file: header, seq, boot id within
// its limits (max_boot_id_bytes, characters [0-9a-f-]), matching crc, nothing after it.
result<reservation_record> decode_reservation(std::string_view text, const std::string& path);
// DIR/reserve through `fs`: nullopt when absent; errc::corruption as decode_reservation(); larger
// than 256 bytes is corruption without reading further meaning into it.
result<std::optional<reservation_record>> read_reservation_file(file_system& fs, const std::string& dir);
// Writes DIR/reserve atomically (temp + fsync + rename + fsync dir): once this returns ok, the
// reservation survives a host crash, so seqs up to r.seq may be sent before they are durable.
status write_reservation_file(file_system& fs, const std::string& dir, const reservation_record& r);
constexpr const char* reservation_file_name = "reserve";
constexpr std::size_t max_reservation_file_bytes = 256;
// The running host's boot id (the kernel's file at `path`), normalized; "-" when it cannot be
// read or is longer than the limit (then every reservation above the recovered seq counts as a
// host crash, the safe side).
std::string current_boot_id(const std::string& path = "/proc/sys/kernel/random/boot_id");

// The boot id of /proc/sys/kernel/random/boot_id as the file stores it: the text without its
// newline if it fits the file's limits, else "-" (unknown).
std::string normalize_boot_id(std::string_view raw);

enum class restart_kind {
  clean,         // no reservation above what was recovered: number on from L + 1
  process_crash, // reservation above L, same boot: the kernel kept every written record
  host_crash,    // reservation above L, another (or unknown) boot: skip L + 1 .. R
};
std::string_view to_string(restart_kind k);

struct restart_decision {
  restart_kind kind = restart_kind::clean;
  std::uint64_t next_seq = 1; // the seq the next record gets
  seq_range skipped{1, 0};    // seqs never to be used (empty unless host_crash)
};

// recovered_last: the last seq open() recovered, used or skipped (base - 1 when the journal holds
// none; R after an earlier host crash's skip, see above);
// on_disk: the reserve file, if any; boot_now: normalize_boot_id() of the running host.
restart_decision decide_restart(std::uint64_t recovered_last, const std::optional<reservation_record>& on_disk,
                                std::string_view boot_now);

// The "skipped" file: the seq ranges open() skipped after host crashes (never used by any record
// here; a sync partner may hold records of this origin there). Ascending, disjoint, at most
// max_skipped_ranges:
//   tandem-skipped 1
//   skip 5451 6501              first and last seq of one range (decimal, first <= last)
//   crc 1a2b3c4d
// Written atomically before the segment that starts above the range is created, so that open()
// tells a skipped range between two segments from a missing segment.
constexpr const char* skipped_file_name = "skipped";
constexpr std::size_t max_skipped_ranges = 1024;
constexpr std::size_t max_skipped_file_bytes = 64 * 1024;
std::string encode_skipped(const std::vector<seq_range>& ranges);
// errc::corruption naming `path` for anything but a well-formed file: header, "skip A B" lines
// with A <= B, ascending and disjoint, at most max_skipped_ranges, matching crc.
result<std::vector<seq_range>> decode_skipped(std::string_view text, const std::string& path);
// DIR/skipped: empty when absent; errc::corruption as decode_skipped(), or when larger than
// max_skipped_file_bytes.
result<std::vector<seq_range>> read_skipped_file(file_system& fs, const std::string& dir);
status write_skipped_file(file_system& fs, const std::string& dir, const std::vector<seq_range>& ranges);
// `ranges` with `add` merged in (ascending, disjoint; an overlapping or adjacent range joins it).
std::vector<seq_range> with_skipped(std::vector<seq_range> ranges, seq_range add);
// The first seq at or above `seq` that no range covers.
std::uint64_t past_skipped(const std::vector<seq_range>& ranges, std::uint64_t seq);

class seq_reservation {
public:
  // step >= 2: how far ahead of the written seq a new reservation reaches. reserved: the
  // reservation on disk (the durable seq when there is none: nothing may be sent early yet).
  seq_reservation(std::uint64_t step, std::uint64_t reserved);

  std::uint64_t reserved() const noexcept { return reserved_; }
  std::uint64_t exposed() const noexcept { return exposed_; }

  // The highest seq a sync link may send: every durable record, and written ones up to the
  // persisted reservation. Notes the result as exposed (after_failed_sync()).
  std::uint64_t sendable(std::uint64_t written, std::uint64_t durable);
  // The reservation to persist now, so that written records can be sent: nullopt while the one on
  // disk is at least step / 2 ahead of `written`; else written + step (saturating).
  std::optional<std::uint64_t> wanted(std::uint64_t written) const;
  // The reserve file now holds `seq` (a smaller one than known changes nothing).
  void on_persisted(std::uint64_t seq);
  // A clean close: everything written is durable; the reservation to persist is the last seq
  // used or skipped (the durable seq, or R of a skip with nothing appended after it), so that the
  // next open is clean and numbers on above both.
  static std::uint64_t at_clean_close(std::uint64_t last_used) { return last_used; }
  // A failed fdatasync with `durable` the last durable seq: true when the written records may be
  // rolled back and their seqs reused (none was exposed above durable); false: never reuse them
  // (the journal skips them).
  bool after_failed_sync(std::uint64_t durable) const noexcept { return exposed_ <= durable; }

private:
  std::uint64_t step_;
  std::uint64_t reserved_;
  std::uint64_t exposed_ = 0; // highest seq sendable() handed out
};

} // namespace tandem::journal
