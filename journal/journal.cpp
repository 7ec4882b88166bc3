#include "journal/journal.hpp"

#include <algorithm>
#include <cassert>
#include <limits>
#include <utility>

#include "journal/extent.hpp"
#include "journal/record_format.hpp"
#include "journal/segment.hpp"

namespace tandem::journal {

namespace {

constexpr const char* origins_file = "origins"; // cumulative origin map as of the last seal
constexpr const char* base_file = "base";       // the incarnation base: "<seq>\n", written at creation
constexpr const char* removed_file = "removed"; // what retention removed (removed_history), as a sidecar
constexpr const char* extent_file = "extent";   // what must be on disk (journal/extent.hpp)

std::int64_t system_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && std::string_view(s).substr(s.size() - suffix.size()) == suffix;
}

status corruption_at(const std::string& path, std::uint64_t offset, const std::string& why) {
  return {errc::corruption, path + " offset " + std::to_string(offset) + ": " + why};
}

// The segment files the extent file says must exist: the oldest and the active one (a missing one
// between them shows as a gap in the seqs). `firsts` are the segments found, ascending.
status check_segments_present(const std::string& dir, const std::optional<journal_extent>& recorded,
                              const std::vector<std::uint64_t>& firsts) {
  if (!recorded) return {};
  const std::string extent_path = dir + "/" + extent_file;
  const auto seg = [&](std::uint64_t first) { return dir + "/" + segment_file_name(first); };
  const std::string durable = recorded->durable >= recorded->base
                                  ? "; seqs up to " + std::to_string(recorded->durable) + " were durable"
                                  : "";
  if (firsts.empty())
    return {errc::corruption, "no segment file in " + dir + " but " + extent_path + " records segments from seq " +
                                  std::to_string(recorded->oldest) + " (active segment " + seg(recorded->active) +
                                  ")" + durable + ": the segment files were removed"};
  if (firsts.back() < recorded->active)
    return corruption_at(seg(recorded->active), 0,
                         "the active segment is missing (" + extent_path + " records it); the journal would end in " +
                             seg(firsts.back()) + " and records from seq " + std::to_string(recorded->active) +
                             " on, which this node may have acknowledged, would be lost" + durable);
  if (firsts.front() > recorded->oldest)
    return corruption_at(seg(recorded->oldest), 0,
                         "the oldest segment is missing (" + extent_path + " records segments from seq " +
                             std::to_string(recorded->oldest) + "); the oldest found is " + seg(firsts.front()) +
                             ", so seqs " + std::to_string(recorded->oldest) + ".." +
                             std::to_string(firsts.front() - 1) + " are lost");
  return {};
}

// What is known about a torn tail dropped at open (recovery_report::truncate_known).
std::string describe_torn_tail(check_outcome outcome, std::uint64_t seq, std::uint64_t known_durable,
                               std::uint64_t base) {
  std::string what = outcome == check_outcome::incomplete
                         ? "the file ends inside the record of seq " + std::to_string(seq) +
                               ", as a crash during its write leaves"
                         : "the record of seq " + std::to_string(seq) +
                               " is damaged, which a process crash does not leave (a power loss during its write "
                               "or damage to a written record does): whether it was acknowledged is not known";
  if (known_durable >= base)
    what += "; every seq up to " + std::to_string(known_durable) + " was recorded durable and is intact";
  else
    what += "; no seq of this journal was recorded durable yet";
  return what;
}

} // namespace

journal::journal(journal_options options, file_system& fs)
    : opts_(std::move(options)), fs_(fs), window_(opts_.tail_window_bytes) {
  if (!opts_.clock) opts_.clock = system_now_ns;
}

journal::~journal() {
  // A clean close leaves the active segment exactly its records (no preallocated tail); a failure
  // here leaves zeros that the next open cuts.
  if (opts_.preallocate_bytes > 0 && active_ && written_.empty() && !staged_chunk_ && !needs_repair_ &&
      active_->size() == durable_bytes_ && active_->truncate(durable_bytes_).ok())
    (void)active_->sync();
  // A clean close (everything written is durable, no failed sync): the next open is clean. A
  // failure here only leaves the last reservation, which the next open treats as a crash.
  if (reservation_ && !exposed_failed_ && written_.empty() && !staged_chunk_)
    (void)write_reservation_file(fs_, opts_.dir,
                                 {seq_reservation::at_clean_close(durable_seq()), normalize_boot_id(opts_.boot_id)});
}

status journal::open_reservation() {
  const std::uint64_t durable = durable_seq();
  sendable_seq_.store(durable, std::memory_order_release);
  auto file = read_reservation_file(fs_, opts_.dir);
  if (!file) return file.error();
  if (opts_.reserve_step == 0 && !*file) return {};
  // Off with a file left by a run with it on: the restart rule still applies to what that run
  // may have sent (below), then the file is brought down to the durable seq, so that a later
  // reboot is not taken for a host crash.
  const auto boot = normalize_boot_id(opts_.boot_id);
  auto d = decide_restart(durable, *file, boot);
  if (d.kind == restart_kind::host_crash && d.skipped.last < std::numeric_limits<std::uint64_t>::max()) {
    // Seqs a sync partner may hold with records lost here: never used (docs/journal-format.md).
    if (auto s = skip_reserved(d.skipped); !s) return s;
    skipped_at_open_ = d.skipped;
    return open_reservation(); // now clean: the journal ends at the reservation
  }
  if (d.kind == restart_kind::host_crash)
    // A reservation at 2^64 - 1 leaves no seq to number on from: refuse rather than reuse seqs a
    // partner may hold.
    return {errc::corruption,
            path_of(reservation_file_name) + " reserves seqs up to " + std::to_string(d.skipped.last) +
                " under another boot (" + (*file)->boot_id + ", now " + boot + ") and the journal ends at " +
                std::to_string(durable) + ": seqs " + std::to_string(d.skipped.first) + ".." +
                std::to_string(d.skipped.last) +
                " may be held by a sync partner with records lost here, and no seq is left above them: move " +
                opts_.dir + " aside and start again (a new journal numbers above every seq used, and the "
                "partner refills it: docs/protocol.md, \"Refill\")"};
  if (opts_.reserve_step == 0)
    return (*file)->seq == durable ? status{} : write_reservation_file(fs_, opts_.dir, {durable, boot});
  reservation_.emplace(opts_.reserve_step, std::max(durable, *file ? (*file)->seq : durable));
  return {};
}

// The host-crash skip (seq_reservation.hpp): the range goes to the "skipped" file first, then the
// journal's next segment starts above it (the active one sealed, or, when it holds nothing,
// replaced), so that every later open recovers the range's last seq as the journal's end. A crash
// in between leaves either no trace but the file (the skip is decided again at the next open) or
// an extra empty segment below the gap (an empty sealed segment, read as such).
status journal::skip_reserved(seq_range skip) {
  auto ranges = with_skipped(skipped_, skip);
  if (ranges.size() > max_skipped_ranges)
    return {errc::corruption, path_of(skipped_file_name) + " already holds " + std::to_string(skipped_.size()) +
                                  " skipped ranges (the limit); cannot skip " + std::to_string(skip.first) + ".." +
                                  std::to_string(skip.last) + " after this host crash"};
  if (auto s = write_skipped_file(fs_, opts_.dir, ranges); !s) return s;
  {
    std::lock_guard lock(seg_mu_);
    skipped_ = std::move(ranges);
    skipped_end_.store(skipped_.back().last, std::memory_order_release);
  }
  const std::uint64_t next_first = skip.last + 1;
  segment_summary active;
  std::size_t count = 0;
  {
    std::lock_guard lock(seg_mu_);
    active = segments_.back().summary;
    count = segments_.size();
  }
  if (active.record_count > 0) {
    if (auto s = roll_segment(next_first); !s) return s;
  } else {
    // Nothing in the active segment: a new one at next_first takes its place.
    auto w = fs_.open_writable(path_of(segment_file_name(next_first)));
    if (!w) return w.error();
    if (auto s = fs_.sync_dir(opts_.dir); !s) return s;
    if (auto s = update_extent([&](journal_extent& e) {
          e.active = std::max(e.active, next_first);
          if (count == 1) e.oldest = std::max(e.oldest, next_first); // it was the only segment
          e.durable = std::max(e.durable, skip.last);
        });
        !s)
      return s;
    const std::string old_path = path_of(segment_file_name(active.first_seq));
    active_ = std::move(*w);
    {
      std::lock_guard lock(seg_mu_);
      segment_state next;
      next.summary.first_seq = next_first;
      next.summary.last_seq = skip.last;
      segments_.back() = std::move(next);
    }
    if (auto s = fs_.remove_file(old_path); !s) return s;
    if (auto s = fs_.sync_dir(opts_.dir); !s) return s;
  }
  durable_bytes_ = 0;
  next_seq_ = next_first;
  durable_seq_.store(skip.last, std::memory_order_release);
  sendable_seq_.store(skip.last, std::memory_order_release);
  return {};
}

status journal::finish_skip() {
  const std::uint64_t end = durable_seq();
  if (skipped_.empty() || skipped_.back().last <= end) return {};
  // A skip recorded right above the journal's end whose segment was never created (a crash in
  // skip_reserved): finish it. Anything else above the end was never written by a journal.
  const std::uint64_t past = tandem::journal::past_skipped(skipped_, end + 1);
  if (past == end + 1 || skipped_.back().last + 1 != past)
    return corruption_at(path_of(skipped_file_name), 0,
                         "skips seqs " + std::to_string(skipped_.back().first) + ".." +
                             std::to_string(skipped_.back().last) + " above the journal's end " + std::to_string(end));
  if (auto s = skip_reserved({end + 1, past - 1}); !s) return s;
  skipped_at_open_ = {end + 1, past - 1};
  return {};
}

std::vector<seq_range> journal::skipped() const {
  std::lock_guard lock(seg_mu_);
  return skipped_;
}

std::uint64_t journal::past_skipped(std::uint64_t seq) const {
  if (seq > skipped_end_.load(std::memory_order_acquire)) return seq; // the common case: no lock
  std::lock_guard lock(seg_mu_);
  return tandem::journal::past_skipped(skipped_, seq);
}

status journal::expose_written() {
  if (!reservation_ || written_.empty()) return {};
  const std::uint64_t written = written_.back()->last_seq();
  if (auto want = reservation_->wanted(written)) {
    // Persisted before any seq it covers is readable above the durable seq (the rule's one order).
    if (auto s = write_reservation_file(fs_, opts_.dir, {*want, normalize_boot_id(opts_.boot_id)}); s)
      reservation_->on_persisted(*want);
    // A failed write only keeps links at the old reservation (or the durable seq).
  }
  sendable_seq_.store(reservation_->sendable(written, durable_seq()), std::memory_order_release);
  return {};
}

result<std::unique_ptr<journal>> journal::open(journal_options options, recovery_report* report) {
  const auto start = std::chrono::steady_clock::now();
  file_system& fs = options.fs != nullptr ? *options.fs : posix_file_system();
  if (options.dir.empty()) return status{errc::invalid_argument, "journal dir is empty"};
  if (options.instance_name.empty() || options.instance_name.size() > format::max_name_bytes)
    return status{errc::invalid_argument, "instance name must be 1..255 bytes"};
  std::unique_ptr<journal> j(new journal(std::move(options), fs));
  recovery_report local;
  recovery_report& rep = report != nullptr ? *report : local;
  rep = {};
  if (auto s = j->recover(rep); !s) return s;
  rep.elapsed = std::chrono::steady_clock::now() - start;
  return j;
}

status journal::recover(recovery_report& rep) {
  if (auto s = fs_.create_dir(opts_.dir); !s) return s;
  auto lock = fs_.lock_dir(opts_.dir);
  if (!lock) return lock.error();
  lock_ = std::move(*lock);

  auto positions = retention_positions::load(fs_, opts_.dir, opts_.destinations, &rep.released_destinations,
                                             &rep.new_destinations);
  if (!positions) return positions.error();
  positions_.emplace(std::move(*positions));
  auto released = released_destinations::load(fs_, opts_.dir, opts_.destinations);
  if (!released) return released.error();
  released_.emplace(std::move(*released));
  hold_totals_.max_held_bytes = opts_.max_held_bytes;

  // The extent file: what must be on disk (journal/extent.hpp). Absent for a journal created by an
  // older build (or removed by an operator): then only the checks segment files allow are made.
  auto extent = read_extent_file(fs_, opts_.dir);
  if (!extent) return extent.error();
  const std::optional<journal_extent> recorded = *extent;
  // Ranges skipped after host crashes (seq_reservation.hpp): the one gap allowed between segments.
  auto skipped = read_skipped_file(fs_, opts_.dir);
  if (!skipped) return skipped.error();
  skipped_ = std::move(*skipped);
  skipped_end_.store(skipped_.empty() ? 0 : skipped_.back().last, std::memory_order_release);
  std::vector<std::string> others;
  auto firsts = list_segment_files(fs_, opts_.dir, &others);
  if (!firsts) return firsts.error();
  for (const auto& n : others)
    if (ends_with(n, ".tmp")) (void)fs_.remove_file(path_of(n)); // an interrupted atomic write
  if (auto s = recover_base(recorded, *firsts); !s) return s;
  if (auto s = check_segments_present(opts_.dir, recorded, *firsts); !s) return s;
  if (auto s = load_origins(); !s) return s;

  const std::uint64_t known_durable = recorded ? recorded->durable : 0;
  std::uint64_t expect_first = 0; // 0 = no previous segment
  for (std::size_t i = 0; i < firsts->size(); ++i) {
    const std::uint64_t first = (*firsts)[i];
    const bool skipped_gap = expect_first != 0 && first > expect_first && tandem::journal::past_skipped(skipped_, expect_first) == first;
    if (expect_first != 0 && first != expect_first && !skipped_gap)
      return corruption_at(path_of(segment_file_name(first)), 0,
                           "segment starts at seq " + std::to_string(first) + " but the previous one ends at " +
                               std::to_string(expect_first - 1) +
                               (first > expect_first ? ": the segment holding seqs " + std::to_string(expect_first) +
                                                           ".." + std::to_string(first - 1) + " is missing"
                                                     : std::string(": the segments overlap")));
    segment_state st;
    if (auto s = recover_segment(first, i + 1 == firsts->size(), known_durable, rep, st); !s) return s;
    expect_first = st.summary.last_seq + 1;
    segments_.push_back(std::move(st));
  }
  if (auto s = open_active(firsts->empty(), known_durable); !s) return s;
  // A skipped range never holds a record (readers step over it).
  for (const auto& r : skipped_)
    for (const auto& seg : segments_)
      if (seg.summary.record_count > 0 && r.first <= seg.summary.last_seq && r.last >= seg.summary.first_seq)
        return corruption_at(path_of(skipped_file_name), 0,
                             "skips seqs " + std::to_string(r.first) + ".." + std::to_string(r.last) + " but " +
                                 path_of(segment_file_name(seg.summary.first_seq)) + " holds records " +
                                 std::to_string(seg.summary.first_seq) + ".." + std::to_string(seg.summary.last_seq));
  if (auto s = finish_skip(); !s) return s;
  if (auto s = open_reservation(); !s) return s;
  rep.skipped = skipped_at_open_;
  if (auto s = load_removed(); !s) return s;

  const auto& active = segments_.back().summary;
  // Written after the active segment file exists (and its directory entry is synced): an extent
  // never names a segment that a crash could leave uncreated.
  const journal_extent found{base_seq_, segments_.front().summary.first_seq, active.first_seq,
                             std::max(active.last_seq, base_seq_ - 1)};
  if (!recorded || found != *recorded) {
    if (auto s = fs_.write_file_atomic(path_of(extent_file), encode_extent(found)); !s) return s;
  }
  extent_ = found;

  rep.segments = segments_.size();
  rep.last_seq = active.last_seq >= base_seq_ ? active.last_seq : 0; // 0: nothing was ever written
  rep.first_seq = segments_.front().summary.record_count > 0 ? segments_.front().summary.first_seq : 0;
  return {};
}

status journal::recover_base(const std::optional<journal_extent>& recorded, const std::vector<std::uint64_t>& firsts) {
  // The incarnation base. A journal created by a build without the file has base 1.
  if (fs_.exists(path_of(base_file))) {
    auto data = fs_.read_file(path_of(base_file));
    if (!data) return data.error();
    auto v = parse_base_file(*data);
    if (!v) return corruption_at(path_of(base_file), 0, "not a seq (decimal digits and one newline)");
    base_seq_ = *v;
  } else if (recorded && recorded->base != 1) {
    return corruption_at(path_of(base_file), 0, "missing, but " + path_of(extent_file) + " records base " +
                                                    std::to_string(recorded->base));
  } else if (firsts.empty() && !recorded) {
    base_seq_ = std::max<std::uint64_t>(opts_.fresh_first_seq, 1);
    if (base_seq_ != 1) { // base 1 needs no file (the default for a journal without one)
      if (auto s = fs_.write_file_atomic(path_of(base_file), std::to_string(base_seq_) + "\n"); !s) return s;
    }
  } else {
    base_seq_ = 1;
  }
  if (recorded && recorded->base != base_seq_)
    return corruption_at(path_of(base_file), 0, "holds base " + std::to_string(base_seq_) + " but " +
                                                    path_of(extent_file) + " records base " +
                                                    std::to_string(recorded->base));
  if (!firsts.empty() && firsts.front() < base_seq_)
    return corruption_at(path_of(base_file), 0, "holds base " + std::to_string(base_seq_) + " but segment " +
                                                    path_of(segment_file_name(firsts.front())) + " starts below it");
  return {};
}

status journal::load_origins() {
  // The cumulative origin map survives retention in the "origins" file (written at every seal);
  // each sealed sidecar adds its own cumulative map, the last segment's scan adds the rest.
  if (fs_.exists(path_of(origins_file))) {
    auto data = fs_.read_file(path_of(origins_file));
    if (!data) return data.error();
    if (auto s = decode_sidecar(*data)) origins_ = std::move(s->origins);
  }
  return {};
}

// Recovers segment `first` into `st`: from its sidecar when that describes exactly this file (a
// sealed segment), else by scanning it; the last segment's torn tail is cut off here.
status journal::recover_segment(std::uint64_t first, bool last, std::uint64_t known_durable, recovery_report& rep,
                                segment_state& st) {
  const std::string seg_path = path_of(segment_file_name(first));
  auto file = fs_.open_readable(seg_path);
  if (!file) return file.error();
  auto size = (*file)->size();
  if (!size) return size.error();
  const std::string idx_path = path_of(index_file_name(first));
  bool have = false;
  if (!last && fs_.exists(idx_path)) {
    auto data = fs_.read_file(idx_path);
    if (!data) return data.error();
    auto s = decode_sidecar(*data);
    // A sidecar is trusted only if it describes exactly this file; otherwise rebuild it.
    if (s && s->first_seq == first && s->bytes == *size && s->record_count > 0) {
      st.summary = std::move(*s);
      have = true;
    }
  }
  if (!have) {
    auto scan = scan_segment(**file, first);
    if (!scan) return scan.error();
    if (scan->end == scan_end::corruption || (!last && scan->end == scan_end::torn_tail))
      return corruption_at(seg_path, scan->bad_offset, scan->reason);
    if (last && scan->end == scan_end::torn_tail) {
      // A torn tail is a clean end after a crash that interrupted a write never reported
      // durable (durable records were fdatasync'ed before being reported, so a crash cannot tear
      // them). Damage to a durable record looks the same, so a record the extent file proves
      // durable is never dropped; above that mark, what is known is said in the report.
      const std::uint64_t dropped_seq = scan->summary.last_seq + 1;
      if (dropped_seq <= known_durable)
        return corruption_at(seg_path, scan->bad_offset,
                             scan->reason + " in the record of seq " + std::to_string(dropped_seq) +
                                 ", but " + path_of(extent_file) + " records every seq up to " +
                                 std::to_string(known_durable) + " as durable: refusing to drop it");
      auto w = fs_.open_writable(seg_path);
      if (!w) return w.error();
      if (auto s = (*w)->truncate(scan->summary.bytes); !s) return s;
      if (auto s = (*w)->sync(); !s) return s;
      rep.truncated_bytes = scan->file_bytes - scan->summary.bytes;
      rep.truncated_offset = scan->summary.bytes;
      rep.truncated_file = seg_path;
      rep.truncate_reason = scan->reason;
      rep.truncated_seq = dropped_seq;
      rep.truncate_known = describe_torn_tail(scan->bad_outcome, dropped_seq, known_durable, base_seq_);
    }
    if (scan->zero_tail_bytes > 0) {
      // A preallocated tail (writable_file::preallocate): zeros, not data. Cut here so that the
      // writer appends right after the last record and a sealed file is exactly its records.
      auto w = fs_.open_writable(seg_path);
      if (!w) return w.error();
      if (auto s = (*w)->truncate(scan->summary.bytes); !s) return s;
      if (auto s = (*w)->sync(); !s) return s;
      rep.preallocated_bytes += scan->zero_tail_bytes;
    }
    st.summary = std::move(scan->summary);
    if (!last) {
      merge_origins(st.summary.origins, origins_); // sidecars carry the cumulative map
      if (auto s = fs_.write_file_atomic(idx_path, encode_sidecar(st.summary)); !s) return s;
      rep.rebuilt_indexes.push_back(idx_path);
    } else {
      (void)fs_.remove_file(idx_path); // a sidecar of the active segment is stale by definition
    }
  }
  merge_origins(origins_, st.summary.origins);
  st.sealed = !last;
  return {};
}

// Opens the active (last) segment for writing, a new one at the base when there is none, and sets
// the durable end. `fresh_dir`: no segment file existed (the new one's directory entry is synced).
status journal::open_active(bool fresh_dir, std::uint64_t known_durable) {
  if (segments_.empty()) {
    segment_state st;
    // An empty journal (new, or every record removed -- retention never removes the active
    // segment, so this is a new one) starts at its base.
    st.summary.first_seq = base_seq_;
    st.summary.last_seq = base_seq_ - 1;
    segments_.push_back(std::move(st));
  }
  const auto& active = segments_.back().summary;
  auto w = fs_.open_writable(path_of(segment_file_name(active.first_seq)));
  if (!w) return w.error();
  active_ = std::move(*w);
  if (fresh_dir) {
    if (auto s = fs_.sync_dir(opts_.dir); !s) return s;
  }
  durable_bytes_ = active.bytes;
  assert(active_->size() == durable_bytes_); // recovery truncated anything beyond the last valid record
  if (active.last_seq < known_durable)
    return corruption_at(path_of(segment_file_name(active.first_seq)), active.bytes,
                         "the journal ends at seq " + std::to_string(active.last_seq) + " but " +
                             path_of(extent_file) + " records every seq up to " + std::to_string(known_durable) +
                             " as durable: seqs " + std::to_string(active.last_seq + 1) + ".." +
                             std::to_string(known_durable) + " are lost");
  // Records a crashed process wrote but never synced are still in the page cache and now count as
  // durable: make them so before anyone is told (one fdatasync per open).
  if (active.bytes > 0) {
    if (auto s = active_->sync(); !s) return s;
  }
  next_seq_ = active.last_seq + 1;
  durable_seq_.store(active.last_seq, std::memory_order_release);
  return {};
}

status journal::load_removed() {
  // What retention removed. Without the file (nothing removed, or removed by a build without it)
  // a journal that starts above its base says only the seq range, timestamps unknown.
  if (fs_.exists(path_of(removed_file))) {
    auto data = fs_.read_file(path_of(removed_file));
    if (!data) return data.error();
    auto s = decode_sidecar(*data);
    if (!s) return corruption_at(path_of(removed_file), 0, "not a valid removed-history record");
    removed_.last_seq = s->last_seq;
    removed_.max_timestamp_ns = s->max_timestamp_ns;
    removed_.origins = std::move(s->origins);
  }
  if (segments_.front().summary.first_seq > base_seq_ && removed_.last_seq + 1 < segments_.front().summary.first_seq) {
    removed_.last_seq = segments_.front().summary.first_seq - 1;
    removed_.max_timestamp_ns = std::numeric_limits<std::int64_t>::max();
  }
  return {};
}

result<seq_range> journal::stage(std::span<const record> records) {
  if (exposed_failed_)
    return status{errc::io_error, "an fdatasync failed after records were readable before it (seq reservation): "
                                  "no appends until the journal is reopened"};
  if (needs_repair_) {
    if (auto s = rollback_unsynced(); !s) return s;
  }
  for (const auto& r : records) {
    if (auto s = validate_record(r, r.origin.empty() ? std::string_view(opts_.instance_name) : r.origin); !s)
      return s;
  }
  seq_range range{next_seq_, next_seq_ - 1};
  if (records.empty()) return range;
  if (!staged_chunk_) {
    staged_chunk_ = std::make_shared<record_chunk>();
    staged_chunk_->first_seq = next_seq_;
  }
  std::lock_guard lock(origin_mu_);
  for (const auto& r : records) {
    const std::uint64_t seq = next_seq_++;
    const bool local = r.origin.empty();
    const std::string_view origin = local ? std::string_view(opts_.instance_name) : std::string_view(r.origin);
    const std::uint64_t origin_seq = local ? seq : r.origin_seq;
    staged_chunk_->offsets.push_back(static_cast<std::uint32_t>(staging_.size()));
    encode_record(r, seq, origin, origin_seq, staging_);
    auto it = pending_origins_.find(origin);
    if (it == pending_origins_.end()) pending_origins_.emplace(std::string(origin), origin_seq);
    else it->second = std::max(it->second, origin_seq);
    if (!local && origin_seq < base_seq_ && origin == opts_.instance_name)
      pending_earlier_own_ = std::max(pending_earlier_own_, origin_seq); // a refilled record of ours
  }
  range.last = next_seq_ - 1;
  return range;
}

std::size_t journal::staged_bytes(std::span<const record> records) const noexcept {
  std::size_t n = 0;
  for (const auto& r : records)
    n += encoded_size(r, r.origin.empty() ? std::string_view(opts_.instance_name) : std::string_view(r.origin));
  return n;
}

void journal::reserve_staging(std::size_t bytes) { staging_.reserve(staging_.size() + bytes); }

status journal::write_staged() {
  if (staging_.empty()) return {};
  if (needs_repair_) {
    if (auto s = rollback_unsynced(); !s) return s;
    return {errc::io_error, "journal was repaired after an earlier failure; staged records were rejected"};
  }
  if (auto s = active_->append(staging_); !s) {
    (void)rollback_unsynced();
    if (reservation_) unexpose_after_failure(); // earlier writes may have been sent
    return s;
  }
  staged_chunk_->bytes = std::move(staging_);
  staging_.clear();
  if (reservation_) window_.push(staged_chunk_); // readable up to sendable_seq() (expose_written)
  written_.push_back(std::move(staged_chunk_));
  staged_chunk_.reset();
  return expose_written();
}

result<seq_range> journal::append(std::span<const record> records) {
  auto range = stage(records);
  if (!range) return range;
  if (auto s = write_staged(); !s) return s;
  return range;
}

status journal::rollback_unsynced() {
  staging_.clear();
  staged_chunk_.reset();
  written_.clear();
  next_seq_ = durable_seq() + 1;
  {
    std::lock_guard lock(origin_mu_);
    pending_origins_.clear();
    pending_earlier_own_ = 0;
  }
  // Cut the file back to its last durable byte so later appends never land after garbage. If
  // even that fails, refuse appends until a retry succeeds.
  if (active_->size() != durable_bytes_) {
    if (auto s = active_->truncate(durable_bytes_); !s) {
      needs_repair_ = true;
      return s;
    }
  }
  needs_repair_ = false;
  return {};
}

result<std::uint64_t> journal::sync() {
  if (auto s = write_staged(); !s) return s;
  if (written_.empty()) return durable_seq();
  if (auto s = active_->sync(); !s) {
    // After a failed fdatasync the state of those pages is unknown (they may have been dropped
    // and marked clean), so none of them may ever be reported durable: cut them away.
    (void)rollback_unsynced();
    if (reservation_) unexpose_after_failure();
    return s;
  }
  const std::uint64_t last = written_.back()->last_seq();
  {
    std::lock_guard lock(seg_mu_);
    auto& sum = segments_.back().summary;
    std::uint64_t base = durable_bytes_;
    for (const auto& c : written_) {
      for (std::size_t i = 0; i < c->offsets.size(); ++i) {
        const std::size_t end = i + 1 < c->offsets.size() ? c->offsets[i + 1] : c->bytes.size();
        const std::string_view rec = std::string_view(c->bytes).substr(c->offsets[i], end - c->offsets[i]);
        sum.add(c->first_seq + i, base + c->offsets[i], static_cast<std::uint32_t>(rec.size()), peek_timestamp(rec));
      }
      base += c->bytes.size();
    }
    durable_bytes_ = base;
  }
  {
    std::lock_guard lock(origin_mu_);
    merge_origins(origins_, pending_origins_);
    pending_origins_.clear();
    earlier_own_ = std::max(earlier_own_, pending_earlier_own_);
    pending_earlier_own_ = 0;
  }
  if (!reservation_)
    for (auto& c : written_) window_.push(std::move(c)); // with a reservation: pushed when written
  written_.clear();
  durable_seq_.store(last, std::memory_order_release);
  sendable_seq_.store(reservation_ ? reservation_->sendable(last, last) : last, std::memory_order_release);
  if (durable_bytes_ >= opts_.segment_bytes) {
    // A failed roll is not a failed sync: the records are durable. Keep appending to the active
    // segment and retry at the next sync.
    (void)roll_segment();
  }
  return last;
}

status journal::roll_segment(std::uint64_t next_first) {
  segment_summary sealed;
  {
    std::lock_guard lock(seg_mu_);
    sealed = segments_.back().summary;
  }
  if (sealed.record_count == 0) return {};
  if (next_first == 0) next_first = sealed.last_seq + 1; // else above a skipped range
  // A sealed segment is exactly its records: its preallocated tail goes first (its sidecar names
  // the file's size, and open trusts a sidecar only when the size matches). Off, there is none:
  // open cut any an earlier run left.
  if (opts_.preallocate_bytes > 0) {
    if (auto s = active_->truncate(durable_bytes_); !s) return s;
    if (auto s = active_->sync(); !s) return s;
  }
  {
    std::lock_guard lock(origin_mu_);
    sealed.origins = origins_; // cumulative
  }
  // Order: sidecar, origins file, then the new segment. A crash between steps leaves either the
  // old segment as the last one (its sidecar is ignored and removed) or an empty new last segment.
  if (auto s = fs_.write_file_atomic(path_of(index_file_name(sealed.first_seq)), encode_sidecar(sealed)); !s)
    return s;
  segment_summary origins_only;
  origins_only.first_seq = next_first;
  origins_only.last_seq = next_first - 1;
  origins_only.origins = sealed.origins;
  if (auto s = fs_.write_file_atomic(path_of(origins_file), encode_sidecar(origins_only)); !s) return s;
  auto w = fs_.open_writable(path_of(segment_file_name(next_first)));
  if (!w) return w.error();
  if (auto s = fs_.sync_dir(opts_.dir); !s) return s;
  {
    std::lock_guard lock(seg_mu_);
    segments_.back().sealed = true;
    segments_.back().summary.origins = sealed.origins; // cumulative, as in the sidecar (retention's removed_)
    segment_state next;
    next.summary.first_seq = next_first;
    next.summary.last_seq = next_first - 1;
    segments_.push_back(std::move(next));
  }
  active_ = std::move(*w);
  durable_bytes_ = 0;
  // Only now that the new segment's directory entry is durable may the extent name it. If this
  // write fails the extent still names the old active segment, which exists: open accepts that,
  // and the next retention pass writes it again.
  return update_extent([&](journal_extent& e) {
    e.active = std::max(e.active, next_first);
    e.durable = std::max(e.durable, next_first - 1);
  });
}

status journal::update_extent(const std::function<void(journal_extent&)>& change) {
  std::lock_guard lock(extent_mu_);
  journal_extent next = extent_;
  change(next);
  if (next == extent_) return {};
  if (auto s = fs_.write_file_atomic(path_of(extent_file), encode_extent(next)); !s) return s;
  extent_ = next;
  return {};
}

void journal::preallocate() {
  if (opts_.preallocate_bytes == 0 || needs_repair_ || !written_.empty() || staged_chunk_) return;
  // Best effort: zeros that did not get written only cost the next fdatasync its journal commit.
  (void)active_->preallocate(opts_.preallocate_bytes);
}

std::uint64_t journal::first_seq() const {
  std::lock_guard lock(seg_mu_);
  return segments_.front().summary.first_seq;
}

std::uint64_t journal::highest_origin_seq(std::string_view origin) const {
  std::lock_guard lock(origin_mu_);
  std::uint64_t v = 0;
  if (auto it = origins_.find(origin); it != origins_.end()) v = it->second;
  if (auto it = pending_origins_.find(origin); it != pending_origins_.end()) v = std::max(v, it->second);
  return v;
}

std::uint64_t journal::highest_earlier_own_seq() const {
  std::lock_guard lock(origin_mu_);
  return std::max(earlier_own_, pending_earlier_own_);
}

void journal::note_earlier_own_seq(std::uint64_t origin_seq) {
  std::lock_guard lock(origin_mu_);
  if (origin_seq < base_seq_) earlier_own_ = std::max(earlier_own_, origin_seq);
}

void journal::unexpose_after_failure() {
  window_.drop_after(durable_seq());
  sendable_seq_.store(durable_seq(), std::memory_order_release);
  if (reservation_->after_failed_sync(durable_seq())) return; // nothing was readable above durable
  // Readable above the durable seq: a partner may hold them, so their seqs are never reused. They
  // are skipped now, as open skips them after a host crash: the truncation made durable first (so
  // that no rolled-back record can reappear inside the skipped range), then the range recorded and
  // the next segment started above it. Appends go on from there.
  const seq_range skip{durable_seq() + 1, std::max(reservation_->reserved(), reservation_->exposed())};
  if (!needs_repair_ && active_->sync().ok() && skip_reserved(skip).ok()) {
    reservation_.emplace(opts_.reserve_step, skip.last);
    return;
  }
  // The disk refuses even that: no more appends, and the reserve file loses its boot id, so that
  // the next open does not take the rolled-back records for ones the kernel kept (a process crash)
  // but skips them (the host-crash rule).
  exposed_failed_ = true;
  (void)write_reservation_file(fs_, opts_.dir, {reservation_->reserved(), "-"});
}

result<journal::location> journal::locate(std::uint64_t seq) const {
  std::lock_guard lock(seg_mu_);
  if (seq < segments_.front().summary.first_seq)
    return status{errc::trimmed, "seq " + std::to_string(seq) + " was removed by retention; oldest held is " +
                                     std::to_string(segments_.front().summary.first_seq)};
  auto it = std::upper_bound(segments_.begin(), segments_.end(), seq,
                             [](std::uint64_t s, const segment_state& st) { return s < st.summary.first_seq; });
  const auto& st = *std::prev(it);
  return location{path_of(segment_file_name(st.summary.first_seq)), st.summary.first_seq, st.summary.seek_hint(seq)};
}

std::vector<segment_info> journal::segments() const {
  std::lock_guard lock(seg_mu_);
  std::vector<segment_info> out;
  for (const auto& st : segments_) {
    const auto& s = st.summary;
    out.push_back({path_of(segment_file_name(s.first_seq)), s.first_seq, s.last_seq, s.bytes, s.max_timestamp_ns,
                   st.sealed});
  }
  return out;
}

status journal::acknowledge(std::string_view destination, std::uint64_t seq) {
  std::lock_guard lock(retention_mu_);
  return positions_->acknowledge(destination, seq);
}

std::uint64_t journal::acknowledged(std::string_view destination) const {
  std::lock_guard lock(retention_mu_);
  return positions_->position(destination);
}

status journal::add_destination(std::string_view destination) {
  std::lock_guard lock(retention_mu_);
  return positions_->add(destination);
}

void journal::remove_destination(std::string_view destination) {
  std::lock_guard lock(retention_mu_);
  positions_->remove(destination);
  released_->restore(destination);
}

status journal::persist_positions() {
  std::lock_guard pass(retention_pass_mu_);
  std::optional<std::string> text;
  {
    std::lock_guard lock(retention_mu_);
    text = positions_->take_changes();
  }
  return write_positions(text);
}

status journal::write_positions(const std::optional<std::string>& text) {
  if (!text) return {};
  auto s = positions_->write(*text);
  if (!s) {
    std::lock_guard lock(retention_mu_);
    positions_->mark_dirty(); // the next pass writes the positions again
  }
  return s;
}

status journal::apply_hold_rule(const std::vector<hold_segment>& sealed, std::uint64_t first_held, std::int64_t now) {
  const auto d = decide_holds(sealed, positions_->all(), released_->all(), opts_.max_held_bytes);
  std::uint64_t newest_removable = 0; // the newest seq the age rule lets go
  for (const auto& s : sealed) {
    if (!s.old_enough) break;
    newest_removable = s.last_seq;
  }
  for (const auto& name : d.restored) {
    released_->restore(name);
    ++hold_totals_.restores;
    hold_changes_.push_back({name, false, positions_->position(name), 0, 0, 0, d.held_bytes, opts_.max_held_bytes});
  }
  for (const auto& name : d.released) {
    const std::uint64_t pos = positions_->position(name);
    // What it may miss starts after its position, or at the oldest record held when it lacks
    // more than that already (a destination added after earlier removals).
    const std::uint64_t from = std::max(pos + 1, first_held);
    released_->release(name, release_info{from, now});
    ++hold_totals_.releases;
    hold_changes_.push_back(
        {name, true, pos, from, newest_removable, hold_of(sealed, pos), d.held_bytes, opts_.max_held_bytes});
  }
  hold_totals_.held_bytes = d.held_bytes;
  // Before any removal that the release allows (retention.hpp, "released" file).
  return released_->persist();
}

result<std::size_t> journal::enforce_retention() {
  std::lock_guard pass(retention_pass_mu_); // first: a pass's view of the segments is its own
  const std::int64_t now = opts_.clock();
  std::vector<hold_segment> sealed;
  std::uint64_t first_held = 0;
  {
    std::lock_guard lock(seg_mu_);
    first_held = segments_.front().summary.first_seq;
    for (const auto& st : segments_)
      if (st.sealed)
        sealed.push_back({st.summary.last_seq, st.summary.bytes,
                          segment_removable(0, st.summary.max_timestamp_ns, std::numeric_limits<std::uint64_t>::max(),
                                            now, opts_.retention_min_age_ns)});
  }
  std::uint64_t min_acked;
  std::optional<std::string> positions_text;
  {
    // Persist before removing: a removal must never be based on a position or a release a
    // restart would forget. The bound and the positions' text are taken together; the text is
    // written below, outside this lock, so that acknowledge() (every destination ack, on the
    // node's journal actor) never waits for its fsyncs.
    std::lock_guard lock(retention_mu_);
    if (auto s = apply_hold_rule(sealed, first_held, now); !s) return s;
    positions_text = positions_->take_changes();
    min_acked = positions_->min_position(released_->all());
  }
  if (auto s = write_positions(positions_text); !s) return s;
  std::vector<std::uint64_t> removed;
  removed_history history;
  std::uint64_t new_oldest = 0;
  {
    std::lock_guard lock(seg_mu_);
    // Only a prefix may go: the journal always holds a dense seq range. Only this function
    // removes segments, so the prefix chosen here is still the prefix below.
    history = removed_;
    for (std::size_t i = 0; i + 1 < segments_.size() && segments_[i].sealed &&
                            segment_removable(segments_[i].summary.last_seq, segments_[i].summary.max_timestamp_ns,
                                              min_acked, now, opts_.retention_min_age_ns);
         ++i) {
      const auto& s = segments_[i].summary;
      removed.push_back(s.first_seq);
      new_oldest = segments_[i + 1].summary.first_seq;
      history.last_seq = s.last_seq;
      history.max_timestamp_ns = std::max(history.max_timestamp_ns, s.max_timestamp_ns);
      merge_origins(history.origins, s.origins); // cumulative: the newest removed one covers the rest
    }
  }
  if (!removed.empty()) {
    // Record what goes before it goes: a crash after the unlinks must not forget it (gap notices).
    segment_summary file;
    file.first_seq = history.last_seq + 1;
    file.last_seq = history.last_seq;
    file.max_timestamp_ns = history.max_timestamp_ns;
    file.origins = history.origins;
    if (auto s = fs_.write_file_atomic(path_of(removed_file), encode_sidecar(file)); !s) return s;
  }
  // The extent moves its oldest segment forward before any unlink (a crash in between leaves files
  // older than the extent's oldest, which open accepts), and takes the durable seq along: one
  // small atomic write per retention pass in which anything changed, never one per append.
  const std::uint64_t durable = durable_seq();
  if (auto s = update_extent([&](journal_extent& e) {
        e.oldest = std::max(e.oldest, new_oldest);
        e.durable = std::max(e.durable, durable);
      });
      !s)
    return s;
  if (!removed.empty()) {
    std::lock_guard lock(seg_mu_);
    // Only this function pops, and the writer only pushes at the back.
    while (!segments_.empty() && segments_.front().summary.first_seq < new_oldest) segments_.pop_front();
    removed_ = std::move(history);
  }
  for (auto first : removed) {
    // Cursors that have the file open keep reading it (POSIX unlink semantics).
    if (auto s = fs_.remove_file(path_of(segment_file_name(first))); !s) return s;
    if (auto s = fs_.remove_file(path_of(index_file_name(first))); !s) return s;
  }
  if (!removed.empty()) {
    if (auto s = fs_.sync_dir(opts_.dir); !s) return s;
  }
  return removed.size();
}

removed_history journal::removed() const {
  std::lock_guard lock(seg_mu_);
  return removed_;
}

std::vector<destination_hold> journal::held_back() const {
  std::vector<destination_hold> out;
  {
    std::lock_guard lock(retention_mu_);
    for (const auto& [name, seq] : positions_->all()) {
      destination_hold h{name, seq, 0, 0};
      if (auto it = released_->all().find(name); it != released_->all().end()) {
        h.released = true;
        h.released_from_seq = it->second.from_seq;
        h.released_since_ns = it->second.since_ns;
      }
      out.push_back(std::move(h));
    }
  }
  std::lock_guard lock(seg_mu_);
  for (auto& h : out)
    for (const auto& st : segments_)
      if (st.sealed && st.summary.last_seq > h.acknowledged) {
        ++h.segments;
        h.bytes += st.summary.bytes;
      }
  return out;
}

hold_totals journal::holds() const {
  std::lock_guard lock(retention_mu_);
  return hold_totals_;
}

std::vector<hold_change> journal::take_hold_changes() {
  std::lock_guard lock(retention_mu_);
  return std::exchange(hold_changes_, {});
}

std::string describe(const hold_change& c) {
  if (!c.released)
    return "destination " + c.destination +
           (c.max_held_bytes == 0 ? " is no longer released: journal.max_held_bytes is 0 (unlimited)"
                                  : " caught up (acknowledged " + std::to_string(c.acknowledged) +
                                        ", every sealed segment)") +
           ": retention holds records for it again";
  return "destination " + c.destination + " released by journal.max_held_bytes " + std::to_string(c.max_held_bytes) +
         ": it held back " + std::to_string(c.hold_bytes) + " bytes (acknowledged up to seq " +
         std::to_string(c.acknowledged) + "); retention no longer waits for it, so it will miss records from seq " +
         std::to_string(c.from_seq) + " on as they are removed (now up to seq " +
         std::to_string(c.newest_removable) + "); when it returns it resumes from the oldest record still held. " +
         "Held bytes now " + std::to_string(c.held_bytes_after);
}

} // namespace tandem::journal
