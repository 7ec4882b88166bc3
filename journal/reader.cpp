#include "journal/reader.hpp"

#include <algorithm>
#include <cstring>

#include "journal/record_format.hpp"

namespace tandem::journal {

namespace {
constexpr std::size_t read_chunk = 256 * 1024;
}

result<cursor> journal::open_cursor(std::uint64_t from_seq) const {
  if (from_seq == 0) from_seq = 1;
  // Seqs below the base never existed in this journal (an earlier incarnation used them): start
  // at the base. Only what retention removed is errc::trimmed.
  if (from_seq < base_seq_) from_seq = base_seq_;
  from_seq = past_skipped(from_seq); // no record ever had a skipped seq here
  // A sync link may have read written records up to sendable_seq() (seq reservation).
  const std::uint64_t durable = std::max(durable_seq(), sendable_seq());
  if (from_seq > durable + 1)
    return status{errc::invalid_argument, "cursor from seq " + std::to_string(from_seq) +
                                              " is beyond the durable end " + std::to_string(durable)};
  if (from_seq < first_seq())
    return status{errc::trimmed, "seq " + std::to_string(from_seq) + " was removed by retention; oldest held is " +
                                     std::to_string(first_seq())};
  return cursor(*this, from_seq);
}

result<std::vector<record>> cursor::read(std::size_t max_records, std::size_t max_bytes) {
  publish_position guard{*this};
  std::vector<record> out;
  max_records = std::max<std::size_t>(max_records, 1);
  const std::uint64_t durable = j_->durable_seq();
  next_ = j_->past_skipped(next_);
  if (next_ > durable) return out;
  if (j_->window_.read(next_, durable, max_records, max_bytes, out)) {
    ++window_reads_;
  } else {
    ++disk_reads_;
    record_chunk raw;
    raw.first_seq = next_;
    if (auto s = read_from_disk(durable, max_records, max_bytes, raw); !s) return s;
    disk_bytes_ += raw.bytes.size();
    j_->cursor_disk_bytes_.fetch_add(raw.bytes.size(), std::memory_order_relaxed);
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) out.push_back(decode_record(raw.record_bytes(i)));
  }
  if (!out.empty()) next_ = out.back().seq + 1;
  return out;
}

std::optional<std::vector<chunk_slice>> cursor::read_window_slices(std::size_t max_records, std::size_t max_bytes) {
  return read_window_slices_up_to(max_records, max_bytes, j_->durable_seq());
}

std::optional<std::vector<chunk_slice>> cursor::read_window_slices_up_to(std::size_t max_records, std::size_t max_bytes,
                                                                         std::uint64_t up_to) {
  publish_position guard{*this};
  std::vector<chunk_slice> out;
  max_records = std::max<std::size_t>(max_records, 1);
  // Durable records are always sendable; written ones only up to the reservation.
  const std::uint64_t bound = std::min(up_to, std::max(j_->durable_seq(), j_->sendable_seq()));
  next_ = j_->past_skipped(next_);
  if (next_ > bound) return out;
  if (!j_->window_.read_slices(next_, bound, max_records, max_bytes, out)) return std::nullopt;
  ++window_reads_;
  if (!out.empty()) next_ = out.back().last_seq() + 1;
  return out;
}

result<std::vector<chunk_slice>> cursor::read_slices(std::size_t max_records, std::size_t max_bytes) {
  publish_position guard{*this};
  if (auto from_window = read_window_slices(max_records, max_bytes)) return std::move(*from_window);
  ++disk_reads_;
  auto raw = std::make_shared<record_chunk>();
  raw->first_seq = next_; // read_from_disk moves it (and next_) past a skipped range
  if (auto s = read_from_disk(j_->durable_seq(), std::max<std::size_t>(max_records, 1), max_bytes, *raw); !s) return s;
  disk_bytes_ += raw->bytes.size();
  j_->cursor_disk_bytes_.fetch_add(raw->bytes.size(), std::memory_order_relaxed);
  std::vector<chunk_slice> out;
  if (raw->size() > 0) {
    const auto n = static_cast<std::uint32_t>(raw->size());
    next_ = raw->first_seq + n;
    out.push_back(chunk_slice{std::move(raw), 0, n});
  }
  return out;
}

result<std::string_view> cursor::view(std::uint64_t off, std::size_t n) {
  if (off < buf_start_ || off + n > buf_start_ + buf_.size()) {
    buf_.resize(std::max(n, read_chunk));
    auto got = file_->read_at(off, buf_.data(), buf_.size());
    if (!got) return got.error();
    buf_.resize(*got);
    buf_start_ = off;
  }
  const std::size_t avail = static_cast<std::size_t>(buf_start_ + buf_.size() - off);
  return std::string_view(buf_).substr(static_cast<std::size_t>(off - buf_start_), std::min(n, avail));
}

status cursor::read_from_disk(std::uint64_t durable, std::size_t max_records, std::size_t max_bytes,
                              record_chunk& out) {
  std::size_t bytes = 0;
  std::uint64_t seq = next_;
  std::uint64_t finished_segment = 0; // guards against looping on a segment that ended early
  bool reread = false;
  while (seq <= durable && out.size() < max_records) {
    if (!file_ || pos_seq_ != seq) {
      // A range skipped after a host crash lies between two segments: step over it. A chunk holds
      // consecutive seqs, so one that already has records ends before the gap.
      if (const auto past = j_->past_skipped(seq); past != seq) {
        if (out.size() > 0) break;
        seq = past;
        next_ = past;
        out.first_seq = past;
        continue;
      }
      auto loc = j_->locate(seq);
      if (!loc) return loc.error();
      if (!file_ || file_first_seq_ != loc->first_seq) {
        auto f = j_->fs_.open_readable(loc->path);
        if (loc->first_seq == finished_segment)
          return status{errc::corruption, loc->path + " ends before seq " + std::to_string(seq)};
        if (!f) {
          // Retention may have removed the segment between locate() and open.
          if (f.error().sys_errno() == ENOENT) return status{errc::trimmed, loc->path + " was removed by retention"};
          return f.error();
        }
        file_ = std::move(*f);
        file_first_seq_ = loc->first_seq;
        buf_.clear();
        buf_start_ = 0;
        pos_seq_ = loc->hint.seq;
        pos_off_ = loc->hint.offset;
      } else if (pos_seq_ > seq || loc->hint.seq > pos_seq_) {
        pos_seq_ = loc->hint.seq;
        pos_off_ = loc->hint.offset;
      }
    }
    auto head = view(pos_off_, format::header_bytes);
    if (!head) return head.error();
    if (head->empty()) {
      // End of a sealed segment: the next seq lives in the next one.
      finished_segment = file_first_seq_;
      file_.reset();
      continue;
    }
    std::uint32_t len = 0;
    if (head->size() >= format::length_offset + 4) std::memcpy(&len, head->data() + format::length_offset, 4);
    auto rec = view(pos_off_, std::clamp<std::size_t>(len, format::header_bytes, format::max_record_bytes));
    if (!rec) return rec.error();
    const auto c = check_record(*rec);
    if ((c.outcome != check_outcome::ok || peek_seq(*rec) != pos_seq_) && !reread) {
      // The buffer may hold bytes read while this record was still being written (or bytes of a
      // failed batch since truncated and rewritten): drop it and read the durable bytes again.
      reread = true;
      buf_.clear();
      buf_start_ = 0;
      continue;
    }
    reread = false;
    // Every record up to durable_seq was fdatasync'ed before durable_seq moved, so anything but a
    // valid record with the expected seq here is corruption.
    if (c.outcome != check_outcome::ok || peek_seq(*rec) != pos_seq_)
      return status{errc::corruption, file_->path() + " offset " + std::to_string(pos_off_) + ": " +
                                          (c.outcome != check_outcome::ok ? c.reason : "unexpected seq") +
                                          " while reading seq " + std::to_string(pos_seq_)};
    if (pos_seq_ == seq) {
      if (out.size() > 0 && bytes + c.length > max_bytes) break;
      out.offsets.push_back(static_cast<std::uint32_t>(out.bytes.size()));
      out.bytes.append(rec->substr(0, c.length));
      bytes += c.length;
      ++seq;
    }
    ++pos_seq_;
    pos_off_ += c.length;
  }
  return {};
}

} // namespace tandem::journal
