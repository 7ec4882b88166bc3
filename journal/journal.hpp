// The journal: open (recover), append, sync, retention. Reading is in reader.hpp, the threaded
// group committer the node uses is in group_committer.hpp.
//
// Concurrency contract
//   * Writer side (stage, write_staged, sync, append): ONE thread at a time -- the group
//     committer's thread. These do disk I/O without holding any lock readers need.
//   * Everything else (durable_seq, first_seq, highest_origin_seq, open_cursor, acknowledge,
//     enforce_retention, held_back, holds, take_hold_changes, segments) is safe from any thread,
//     concurrently with the writer.
//     Internal locks are held only for in-memory bookkeeping, never around disk reads or writes
//     (except enforce_retention's own unlinks, which hold no lock the writer or readers take, and
//     the extent file's one small atomic write, which a seal on the writer thread and a retention
//     pass serialise between them: the writer can wait for it at a seal, never at an append;
//     and the "released" file, written under the retention lock, which neither the writer nor
//     readers take: only the retention calls -- acknowledge, held_back, ... -- wait, and only at a
//     pass that releases or restores a destination; the "positions" file is written without it).
//   * A cursor (reader.hpp) belongs to one thread; any number of cursors may run concurrently.
//   * Readers only ever see durable records: durable_seq() advances only after a completed fdatasync.
//     The one exception, with journal_options::reserve_step: cursor::read_window_slices_up_to
//     reads written records up to sendable_seq(), which the "reserve" file covers
//     (journal/seq_reservation.hpp).
//   * The journal must outlive its cursors and its group_committer.
//
// Ordering contract for the node: a record is acknowledged (to a publisher or a peer) only after
// sync() (or the committer's callback) reported a durable_seq >= its seq.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "journal/errc.hpp"
#include "journal/extent.hpp"
#include "journal/file_io.hpp"
#include "journal/record_codec.hpp"
#include "journal/retention.hpp"
#include "journal/segment_index.hpp"
#include "journal/seq_range.hpp"
#include "journal/seq_reservation.hpp"
#include "journal/tail_window.hpp"

namespace tandem::journal {

class cursor;

struct journal_options {
  std::string dir;
  std::string instance_name;                   // origin of records published here (1..255 bytes)
  std::uint64_t segment_bytes = 256ull << 20;  // a new segment starts once the active one exceeds this
  std::size_t tail_window_bytes = 32u << 20;   // memory (allocated) for the window of recent durable records
  std::vector<std::string> destinations;       // configured destination names (retention holds)
  std::int64_t retention_min_age_ns = 0;       // 0 = no age requirement
  // Bytes retention may keep only because destinations have not acked them (journal.max_held_bytes,
  // retention.hpp decide_holds): beyond it the destination holding back the most is released.
  // 0 = unlimited (a destination holds the journal back for as long as it is away).
  std::uint64_t max_held_bytes = 0;
  file_system* fs = nullptr;                   // nullptr = posix_file_system()
  std::function<std::int64_t()> clock;         // ns since epoch, for retention age; empty = system clock
  // The seq of the first record of a journal created by this open() (an empty dir). tandemd sets
  // it from the wall clock (an "incarnation" base, see docs/journal-format.md) so that a node
  // whose journal was lost numbers above every seq an earlier incarnation used. Ignored when the
  // dir already holds a journal. Must be >= 1.
  std::uint64_t fresh_first_seq = 1;
  // The seq reservation (journal/seq_reservation.hpp, docs/journal-format.md "Seq reservation"):
  // 0 = off (readers see durable records only, no "reserve" file). > 0: written records are
  // readable up to sendable_seq() (read_window_slices_up_to) once the "reserve" file covers them;
  // the file grows by this many seqs. tandemd sets 65536 with journal.send_before_durable (issue 19).
  std::uint64_t reserve_step = 0;
  // The running host's boot id (current_boot_id()); "-" = unknown. Used only with reserve_step.
  std::string boot_id = "-";
  // Zeros kept on disk ahead of the active segment's end (writable_file::preallocate; refilled
  // after a sync once fewer than half remain): an fdatasync then flushes data only, with no
  // file-system journal commit for a size change. 0 = off. Cut at each roll and clean close;
  // after a crash, open() cuts them (docs/journal-format.md, "Preallocated tail").
  std::uint64_t preallocate_bytes = 1u << 20;
};


// What open() found and did; the node logs every non-default field.
struct recovery_report {
  std::size_t segments = 0;
  std::uint64_t first_seq = 0;          // oldest record held (0 when the journal is empty)
  std::uint64_t last_seq = 0;           // newest durable record (0 when none was ever written)
  std::uint64_t truncated_bytes = 0;    // torn tail dropped from the last segment
  std::uint64_t truncated_offset = 0;   // where it was cut
  std::string truncated_file;
  std::string truncate_reason;          // e.g. "checksum mismatch", "record extends past end of data"
  std::uint64_t truncated_seq = 0;      // the seq the first dropped record would have had
  // Zeros cut after the last record (a preallocated tail left by a crash; not data).
  std::uint64_t preallocated_bytes = 0;
  // A host crash after records were readable before durable (seq_reservation.hpp): the seqs open()
  // skipped, never to be used here (empty: none).
  seq_range skipped{1, 0};
  // What is known about the dropped bytes, for the log: whether they look like what a crash leaves,
  // and which seqs the extent file proves durable (those are never dropped: open refuses instead).
  std::string truncate_known;
  std::vector<std::string> rebuilt_indexes;        // sidecars that were missing/invalid and rebuilt
  std::vector<std::string> released_destinations;  // persisted but no longer configured: hold released
  std::vector<std::string> new_destinations;       // configured but not persisted: start at position 0
  std::chrono::nanoseconds elapsed{0};
};

struct segment_info {
  std::string path;
  std::uint64_t first_seq = 0;
  std::uint64_t last_seq = 0;   // first_seq - 1 when empty
  std::uint64_t bytes = 0;      // durable bytes
  std::int64_t max_timestamp_ns = 0;
  bool sealed = false;
};

// What retention has removed, for the gap notices of subscriptions that ask for it
// (docs/protocol.md, "Gaps"). Kept in the "removed" file (docs/journal-format.md), written before
// the segments are unlinked, so it survives restarts.
struct removed_history {
  std::uint64_t last_seq = 0;        // newest seq removed; 0 = nothing removed yet
  std::int64_t max_timestamp_ns = 0; // newest timestamp_ns among removed records; INT64_MAX when
                                     // unknown (removed by a build without the file)
  origin_map origins;                // per origin, the highest origin_seq of a removed record (or
                                     // of any record before it); empty when unknown
};

// Per destination: what it holds back from removal (sealed segments with records it has not acked).
// A released destination (journal.max_held_bytes) holds nothing back whatever its figures here.
struct destination_hold {
  std::string name;
  std::uint64_t acknowledged = 0;
  std::uint64_t segments = 0;
  std::uint64_t bytes = 0;
  bool released = false;
  std::uint64_t released_from_seq = 0; // the first seq it may miss (its position + 1 at the release,
                                       // or the oldest seq then held if that is higher)
  std::int64_t released_since_ns = 0;
};

// The journal-wide figures of the hold rule, as of the last retention pass.
struct hold_totals {
  std::uint64_t held_bytes = 0;     // kept only for destinations (retention.hpp decide_holds)
  std::uint64_t max_held_bytes = 0; // the limit; 0 = unlimited
  std::uint64_t releases = 0;       // destinations released since open
  std::uint64_t restores = 0;       // released destinations that caught up and hold again
};

// A release or a restore a retention pass decided: the node logs each once (describe()).
struct hold_change {
  std::string destination;
  bool released = false;             // false: restored (it caught up)
  std::uint64_t acknowledged = 0;    // its position at the change
  std::uint64_t from_seq = 0;        // released: the first seq it may miss (destination_hold)
  std::uint64_t newest_removable = 0; // released: the newest seq retention may now remove without it
  std::uint64_t hold_bytes = 0;      // released: what it held back
  std::uint64_t held_bytes_after = 0; // held bytes once the pass decided
  std::uint64_t max_held_bytes = 0;
};
std::string describe(const hold_change& change);

class journal {
public:
  // Opens DIR (created if absent), recovers it and takes its lock. Fails with errc::corruption
  // (message naming file and offset) if a sealed segment is damaged or the last segment holds an
  // invalid record followed by valid ones; a torn tail of the last segment is truncated and
  // reported. Sealed segments are not rescanned when their sidecar index is valid. Also
  // errc::corruption, naming the files and seqs, when the "base" file is not a seq or disagrees
  // with the "extent" file, or when the extent file shows that a segment it records (oldest,
  // active) is missing or that the journal ends before a seq it records as durable
  // (journal/extent.hpp, docs/journal-format.md "Extent").
  static result<std::unique_ptr<journal>> open(journal_options options, recovery_report* report = nullptr);
  ~journal();
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  // --- writer thread only --------------------------------------------------------------------
  // Validates `records` (all or nothing), assigns them the next seqs and encodes them into the
  // staging buffer. No I/O. errc::record_too_large / invalid_argument leave nothing staged.
  result<seq_range> stage(std::span<const record> records);
  // The bytes stage() will encode `records` into (a local record carries this node's name).
  std::size_t staged_bytes(std::span<const record> records) const noexcept;
  // Makes room for `bytes` more in the staging buffer before a commit's stage() calls, so that the
  // chunk a write hands the tail window is one allocation of its size rather than a buffer grown
  // by doubling: a 1.1 KiB record alone held 2 KiB, and each doubling copied and touched new
  // memory (docs/performance.md, "Where the time goes"). A hint only: stage() is correct without it.
  void reserve_staging(std::size_t bytes);
  // Writes everything staged with one write. On failure every record since the last completed
  // sync is rejected: the bytes are truncated away and their seqs will be reused.
  status write_staged();
  // Writes anything staged, then one fdatasync covering every record written since the previous
  // one; returns the highest durable seq. On failure, as for write_staged(). Starts a new segment
  // when the active one exceeds segment_bytes.
  result<std::uint64_t> sync();
  // stage + write_staged (not durable until sync()).
  result<seq_range> append(std::span<const record> records);
  // Keeps journal_options::preallocate_bytes of zeros ahead of the active segment's end (when
  // nothing is written but not synced). The committer calls it after a sync's callbacks went out,
  // so that the zeros' write never sits between a sync and its acks. Errors are ignored (the
  // zeros only save the next fdatasync a file-system journal commit).
  void preallocate();

  // --- any thread ----------------------------------------------------------------------------
  std::uint64_t durable_seq() const noexcept { return durable_seq_.load(std::memory_order_acquire); }
  // With reserve_step: the highest seq a sync link may read, written (maybe not yet durable) and
  // covered by the persisted reservation; durable_seq() without. Never above what was written.
  std::uint64_t sendable_seq() const noexcept { return sendable_seq_.load(std::memory_order_acquire); }
  // Oldest seq still held (durable_seq() + 1 when nothing is held).
  std::uint64_t first_seq() const;
  // The first seq at or above `seq` that no range skipped after a host crash covers ("skipped"
  // file, seq_reservation.hpp): readers step over such a range, which no record ever had here.
  std::uint64_t past_skipped(std::uint64_t seq) const;
  // Every range skipped so far (after host crashes, and after a failed write or fdatasync of
  // records a sync link may have sent: skipped at once, appends go on above them).
  std::vector<seq_range> skipped() const;
  // The seq this journal's first-ever record got (its incarnation base): recorded in the "base"
  // file at creation; 1 for a journal created without one. Never changes; retention keeps it.
  std::uint64_t base_seq() const noexcept { return base_seq_; }
  // Encoded record bytes all cursors have read from segment files, i.e. outside the tail window
  // (readers that fell behind it). Followers of the tail add nothing here.
  std::uint64_t cursor_disk_bytes() const noexcept { return cursor_disk_bytes_.load(std::memory_order_relaxed); }
  // Highest origin_seq held or staged for `origin`, including records retention has removed;
  // 0 if none. Recovered on open from the sealed segments' sidecars plus the last segment.
  std::uint64_t highest_origin_seq(std::string_view origin) const;
  // Highest origin_seq below base_seq() of a record of THIS instance's origin held or staged: a
  // record an earlier incarnation of this node published, stored again when a partner refilled
  // it after the journal was lost (docs/protocol.md, "Refill"); 0 if none. Maintained by stage();
  // NOT recovered by open() -- the node's startup scan calls note_earlier_own_seq() for each
  // such record it finds (records retention removed are not counted).
  std::uint64_t highest_earlier_own_seq() const;
  void note_earlier_own_seq(std::uint64_t origin_seq);
  // A cursor whose first read returns seq `from_seq` (base_seq() when from_seq is below it:
  // those seqs never existed in this journal). errc::trimmed if retention removed it,
  // errc::invalid_argument if from_seq > max(durable_seq(), sendable_seq()) + 1. Defined in reader.cpp.
  result<cursor> open_cursor(std::uint64_t from_seq) const;

  // Startup scans (journal/durable_scan.cpp): calls `visit` with the bytes of every durable record
  // from first_seq() to the durable_seq() of the call, in seq order; the bytes passed
  // check_record() and are valid for the duration of the call (peek_* reads fields without
  // decoding topics and payloads). Reads each segment front to back in 1 MiB chunks. Meant for
  // startup, before appends and retention run: a segment that retention removes meanwhile ends
  // the scan with errc::trimmed, a damaged record with errc::corruption naming file and offset,
  // and stop_scans() with errc::stopped before the next record (the caller then knows only part
  // of the journal: the journal actor refuses every append after it).
  status scan_durable(const std::function<void(std::string_view record)>& visit) const;

  // Shutdown (tandemd, at its first signal): asks the walks over the journal that run on threads
  // of their own for the actors to end at their next record with errc::stopped, so that a
  // shutdown never waits for one: scan_durable (the journal actor's startup scan of publisher
  // marks) and visit_durable (actors/repair_scan.hpp: anti-entropy digests and repair reads and
  // plans, on the digest scanner). Either reads the whole journal, seconds or more on a large
  // one, and its thread takes the node's exit only after it. Appends, cursors and retention are
  // unaffected. Cannot be undone.
  void stop_scans() noexcept { scans_stopped_.store(true, std::memory_order_relaxed); }
  bool scans_stopped() const noexcept { return scans_stopped_.load(std::memory_order_relaxed); }

  // Retention. acknowledge() only updates memory; enforce_retention() first applies the hold rule
  // (retention.hpp decide_holds; persists the "released" file when it changed), persists
  // positions atomically, then removes every removable sealed segment (oldest first, never the
  // active one; released destinations do not hold) and returns how many it removed. The
  // positions file is written outside the retention lock (acknowledge() and the other retention
  // calls never wait for its fsyncs), from the positions taken with the removal bound under
  // it; passes (and persist_positions) run one at a time, so an older text never lands last.
  // take_hold_changes() hands out (once) the releases and restores the passes decided.
  status acknowledge(std::string_view destination, std::uint64_t seq);
  std::uint64_t acknowledged(std::string_view destination) const;
  // A live reload (issue 21): add_destination holds from position 0 (a known name keeps its
  // position), as a destination new at startup; remove_destination drops its position and any
  // release, so it holds nothing back from the next retention pass on.
  status add_destination(std::string_view destination);
  void remove_destination(std::string_view destination);
  status persist_positions();
  result<std::size_t> enforce_retention();
  std::vector<destination_hold> held_back() const;
  hold_totals holds() const;
  std::vector<hold_change> take_hold_changes();
  // What retention removed so far (last_seq 0: nothing).
  removed_history removed() const;

  std::vector<segment_info> segments() const;
  const std::string& dir() const noexcept { return opts_.dir; }
  const std::string& instance_name() const noexcept { return opts_.instance_name; }
  const tail_window& window() const noexcept { return window_; }

private:
  friend class cursor;
  struct segment_state {
    segment_summary summary;
    bool sealed = false;
  };
  // Where a reader should start looking for `seq`.
  struct location {
    std::string path;
    std::uint64_t first_seq = 0;
    index_entry hint;
  };

  journal(journal_options options, file_system& fs);
  status recover(recovery_report& report);
  // The steps of recover(), in order (journal.cpp).
  status recover_base(const std::optional<journal_extent>& recorded, const std::vector<std::uint64_t>& firsts);
  status load_origins();
  status recover_segment(std::uint64_t first, bool last, std::uint64_t known_durable, recovery_report& rep,
                         segment_state& st);
  status open_active(bool fresh_dir, std::uint64_t known_durable);
  status open_reservation(); // after open_active: the restart rule (seq_reservation.hpp)
  status load_removed();
  status rollback_unsynced(); // truncate to the durable end; forget staged/written records
  status roll_segment(std::uint64_t next_first = 0); // 0: the sealed segment's last seq + 1
  status skip_reserved(seq_range skip);               // open_reservation after a host crash
  status finish_skip(); // at open: a skip recorded above the journal's end but not completed
  // Rewrites the extent file with `change` applied, if that changes it (serialised by extent_mu_,
  // which is held only around this one small atomic write).
  status update_extent(const std::function<void(journal_extent&)>& change);
  std::string path_of(const std::string& name) const { return opts_.dir + "/" + name; }
  result<location> locate(std::uint64_t seq) const;

  journal_options opts_;
  file_system& fs_;
  std::unique_ptr<dir_lock> lock_;

  // Writer-thread state.
  std::unique_ptr<writable_file> active_;
  std::uint64_t next_seq_ = 1;
  std::uint64_t durable_bytes_ = 0; // end of the last durable record in the active segment
  bool needs_repair_ = false;       // a rollback truncate failed; retry before the next write
  std::string staging_;
  std::shared_ptr<record_chunk> staged_chunk_;
  std::optional<seq_reservation> reservation_; // reserve_step > 0 only
  bool exposed_failed_ = false; // a failure after records above durable were readable, and no skip: no more appends
  status expose_written(); // reservation_: grow the reserve file if needed, publish sendable_seq_
  // reservation_: a write or fdatasync failed (after rollback_unsynced); readers go back to the
  // durable seq, and if anything above it was readable, the reservation is skipped (skip_reserved)
  // or, when the disk refuses that too, appends stop (exposed_failed_) and the reserve file's boot
  // id becomes "-".
  void unexpose_after_failure();
  std::vector<std::shared_ptr<record_chunk>> written_; // written, not yet synced (file order)

  std::atomic<std::uint64_t> durable_seq_{0};
  std::atomic<std::uint64_t> sendable_seq_{0};
  std::atomic<bool> scans_stopped_{false}; // stop_scans()
  std::uint64_t base_seq_ = 1; // set by recover(), constant afterwards
  mutable std::atomic<std::uint64_t> cursor_disk_bytes_{0};
  tail_window window_;

  mutable std::mutex seg_mu_; // guards segments_, removed_ and skipped_ (durable state only)
  std::deque<segment_state> segments_;
  removed_history removed_;
  std::vector<seq_range> skipped_;  // the "skipped" file (seq_reservation.hpp)
  std::atomic<std::uint64_t> skipped_end_{0}; // the last seq of the highest skipped range (0: none)
  seq_range skipped_at_open_{1, 0}; // what this open skipped (recovery_report::skipped)

  mutable std::mutex origin_mu_; // guards origins_ and pending_origins_
  origin_map origins_;           // durable
  origin_map pending_origins_;   // staged/written, not yet durable
  std::uint64_t earlier_own_ = 0;         // highest_earlier_own_seq(), durable part
  std::uint64_t pending_earlier_own_ = 0; // ... staged/written part

  std::mutex extent_mu_; // guards extent_ and writes of the extent file
  journal_extent extent_; // as last written

  std::mutex retention_pass_mu_; // one retention pass or persist_positions at a time; before retention_mu_
  mutable std::mutex retention_mu_;
  std::optional<retention_positions> positions_;
  std::optional<released_destinations> released_; // journal.max_held_bytes
  hold_totals hold_totals_;
  std::vector<hold_change> hold_changes_; // not taken yet

  // Writes the positions' text taken under retention_mu_ (nothing when nullopt), without that
  // lock; retention_pass_mu_ held. A failed write marks the positions dirty again.
  status write_positions(const std::optional<std::string>& text);
  // The hold rule's step of enforce_retention (journal.cpp); retention_mu_ held.
  status apply_hold_rule(const std::vector<hold_segment>& sealed, std::uint64_t first_held, std::int64_t now);
};

} // namespace tandem::journal
