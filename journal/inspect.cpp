#include "journal/inspect.hpp"

#include <algorithm>
#include <optional>
#include <vector>

#include "journal/extent.hpp"
#include "journal/record_codec.hpp"
#include "journal/retention.hpp"
#include "journal/record_format.hpp"
#include "journal/segment.hpp"
#include "journal/seq_reservation.hpp"

namespace tandem::journal {

namespace {

// What verify says of segment `first`'s sidecar index against the scan's summary `s`.
std::string sidecar_verdict(file_system& fs, const std::string& dir, std::uint64_t first, bool last,
                            const segment_summary& s) {
  if (last) return "active";
  const std::string idx_path = dir + "/" + index_file_name(first);
  if (!fs.exists(idx_path)) return "missing (open will rebuild it)";
  auto data = fs.read_file(idx_path);
  auto d = data ? decode_sidecar(*data) : std::nullopt;
  return (d && d->bytes == s.bytes && d->last_seq == s.last_seq && d->entries == s.entries)
             ? "ok"
             : "stale or invalid (open will rebuild it)";
}

std::string preview(std::string_view payload) {
  std::string p;
  for (char c : payload.substr(0, 32)) p += (c >= 0x20 && c < 0x7f && c != '"') ? c : '.';
  return p;
}

} // namespace

status verify(const std::string& dir, std::ostream& out, file_system* fsp) {
  file_system& fs = fsp != nullptr ? *fsp : posix_file_system();
  const auto fail = [&](status s) {
    out << "CORRUPTION: " << s.message() << "\n";
    return s;
  };
  // Read before and after listing: a live node may seal or remove a segment in between, and then
  // the extent checks (the same as open's) are skipped rather than raising a false alarm.
  auto extent_before = read_extent_file(fs, dir);
  if (!extent_before) return fail(extent_before.error());
  auto firsts = list_segment_files(fs, dir);
  if (!firsts) return firsts.error();
  auto extent_after = read_extent_file(fs, dir);
  if (!extent_after) return fail(extent_after.error());
  std::optional<journal_extent> extent;
  if (*extent_before && *extent_after && **extent_before == **extent_after) extent = **extent_after;
  out << "journal " << dir << ": " << firsts->size() << " segment(s)\n";
  if (extent) {
    out << "extent: base=" << extent->base << " oldest=" << extent->oldest << " active=" << extent->active
        << " durable=" << extent->durable << "\n";
    const auto seg = [&](std::uint64_t first) { return dir + "/" + segment_file_name(first); };
    if (firsts->empty() || firsts->back() < extent->active)
      return fail({errc::corruption, seg(extent->active) + " offset 0: the active segment recorded in " + dir +
                                         "/extent is missing"});
    if (firsts->front() > extent->oldest)
      return fail({errc::corruption, seg(extent->oldest) + " offset 0: the oldest segment recorded in " + dir +
                                         "/extent is missing"});
  }
  // Ranges skipped after host crashes (seq_reservation.hpp): the one gap allowed between segments.
  auto skipped = read_skipped_file(fs, dir);
  if (!skipped) return fail(skipped.error());
  for (const auto& r : *skipped) out << "skipped after a host crash: seqs " << r.first << ".." << r.last << "\n";
  std::uint64_t total = 0, expect = 0, lo = 0, hi = 0;
  for (std::size_t i = 0; i < firsts->size(); ++i) {
    const std::uint64_t first = (*firsts)[i];
    const bool last = i + 1 == firsts->size();
    const std::string path = dir + "/" + segment_file_name(first);
    auto file = fs.open_readable(path);
    if (!file) return file.error();
    auto scan = scan_segment(**file, first);
    if (!scan) return scan.error();
    const auto& s = scan->summary;
    out << "  " << segment_file_name(first) << " bytes=" << scan->file_bytes << " records=" << s.record_count;
    if (s.record_count > 0) out << " seqs=" << s.first_seq << ".." << s.last_seq;
    out << " index=" << sidecar_verdict(fs, dir, first, last, s) << "\n";
    if (expect != 0 && first != expect && !(first > expect && past_skipped(*skipped, expect) == first)) {
      out << "CORRUPTION: " << path << " starts at seq " << first << ", expected " << expect << "\n";
      return {errc::corruption, path + " offset 0: segment starts at seq " + std::to_string(first) + ", expected " +
                                    std::to_string(expect)};
    }
    if (scan->end == scan_end::corruption || (scan->end == scan_end::torn_tail && !last)) {
      out << "CORRUPTION: " << path << " offset " << scan->bad_offset << ": " << scan->reason << "\n";
      return {errc::corruption, path + " offset " + std::to_string(scan->bad_offset) + ": " + scan->reason};
    }
    if (scan->zero_tail_bytes > 0)
      out << "  preallocated tail: " << scan->zero_tail_bytes << " zero bytes after the last record (not data; open "
          << "cuts them)\n";
    if (scan->end == scan_end::torn_tail)
      out << "  torn tail: " << (scan->file_bytes - s.bytes) << " bytes at offset " << scan->bad_offset << " ("
          << scan->reason << "); open will truncate it\n";
    if (s.record_count > 0) {
      if (lo == 0) lo = s.first_seq;
      hi = s.last_seq;
    }
    total += s.record_count;
    expect = s.last_seq + 1;
  }
  out << "total records=" << total;
  if (total > 0) out << " seqs=" << lo << ".." << hi;
  out << "\n";
  // Where the journal ends: the last segment's last seq, also when it is empty (first - 1) --
  // retention may have removed every record, leaving an empty active segment after the newest
  // durable seq. `hi` (the newest record present) would then be 0.
  const std::uint64_t end = firsts->empty() ? 0 : expect - 1;
  if (extent && extent->durable >= extent->base && end < extent->durable)
    return fail({errc::corruption, dir + "/extent records seqs up to " + std::to_string(extent->durable) +
                                       " as durable but the journal ends at seq " + std::to_string(end)});
  const std::string pos_path = dir + "/" + format::positions_file;
  if (fs.exists(pos_path)) {
    auto text = fs.read_file(pos_path);
    if (!text) return text.error();
    auto pos = retention_positions::decode(*text, pos_path);
    if (!pos) {
      out << "CORRUPTION: " << pos.error().message() << "\n";
      return pos.error();
    }
    for (const auto& [name, seq] : *pos) out << "destination " << name << " acknowledged=" << seq << "\n";
  }
  out << "OK\n";
  return {};
}

status dump(const std::string& dir, std::uint64_t from_seq, std::ostream& out, file_system* fsp) {
  file_system& fs = fsp != nullptr ? *fsp : posix_file_system();
  auto firsts = list_segment_files(fs, dir);
  if (!firsts) return firsts.error();
  for (std::size_t i = 0; i < firsts->size(); ++i) {
    if (i + 1 < firsts->size() && (*firsts)[i + 1] <= from_seq) continue; // wholly before from_seq
    const std::string path = dir + "/" + segment_file_name((*firsts)[i]);
    auto file = fs.open_readable(path);
    if (!file) return file.error();
    auto scan = scan_segment(**file, (*firsts)[i], [&](std::uint64_t, std::string_view bytes) {
      if (peek_seq(bytes) < from_seq) return;
      const record r = decode_record(bytes);
      out << "seq=" << r.seq << " origin=" << r.origin << " origin_seq=" << r.origin_seq << " publisher=" << r.publisher
          << " pub_seq=" << r.publisher_seq << " path=";
      for (std::size_t k = 0; k < r.path.size(); ++k) out << (k ? "," : "") << r.path[k];
      out << " ts=" << r.timestamp_ns << " topic=" << r.topic << " size=" << r.payload.size() << " preview=\""
          << preview(r.payload) << "\"\n";
    });
    if (!scan) return scan.error();
    if (scan->end == scan_end::corruption || (scan->end == scan_end::torn_tail && i + 1 < firsts->size()))
      return {errc::corruption, path + " offset " + std::to_string(scan->bad_offset) + ": " + scan->reason};
  }
  return {};
}

} // namespace tandem::journal
