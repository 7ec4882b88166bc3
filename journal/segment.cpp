#include "journal/segment.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "journal/record_codec.hpp"
#include "journal/record_format.hpp"

namespace tandem::journal {

std::string segment_file_name(std::uint64_t first_seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu%s", static_cast<unsigned long long>(first_seq), format::segment_suffix);
  return buf;
}

std::string index_file_name(std::uint64_t first_seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu%s", static_cast<unsigned long long>(first_seq), format::index_suffix);
  return buf;
}

std::optional<std::uint64_t> parse_segment_file_name(std::string_view name) {
  const std::string_view suffix = format::segment_suffix;
  if (name.size() != format::seq_digits + suffix.size() || name.substr(format::seq_digits) != suffix)
    return std::nullopt;
  std::uint64_t v = 0;
  for (char c : name.substr(0, format::seq_digits)) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  if (v == 0) return std::nullopt;
  return v;
}

namespace {

// A forward-moving window over a file: view(off, n) returns up to n bytes at off (fewer only at end
// of file). The buffer is bounded by max(chunk, largest record requested).
class file_window {
public:
  file_window(const readable_file& f, std::uint64_t file_size) : f_(f), size_(file_size) {}

  result<std::string_view> view(std::uint64_t off, std::size_t n) {
    if (off >= size_) return std::string_view{};
    n = static_cast<std::size_t>(std::min<std::uint64_t>(n, size_ - off));
    if (off < start_ || off + n > start_ + buf_.size()) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(std::max(n, chunk), size_ - off));
      buf_.resize(want);
      auto got = f_.read_at(off, buf_.data(), want);
      if (!got) return got.error();
      buf_.resize(*got);
      start_ = off;
      if (buf_.size() < n) n = buf_.size(); // file shrank under us: treat as end of data
    }
    return std::string_view(buf_).substr(static_cast<std::size_t>(off - start_), n);
  }

private:
  static constexpr std::size_t chunk = 1 << 20;
  const readable_file& f_;
  std::uint64_t size_;
  std::uint64_t start_ = 0;
  std::string buf_;
};

// Is every byte of [from, file_size) zero (what writable_file::preallocate leaves past the data)?
result<bool> zero_until_end(file_window& w, std::uint64_t from, std::uint64_t file_size) {
  constexpr std::size_t step = 64u << 10;
  for (std::uint64_t off = from; off < file_size; off += step) {
    auto bytes = w.view(off, step);
    if (!bytes) return bytes.error();
    if (bytes->empty()) break; // the file shrank under us: end of data
    if (std::any_of(bytes->begin(), bytes->end(), [](char ch) { return ch != '\0'; })) return false;
  }
  return true;
}

// Is there a valid record with seq > after_seq anywhere in [from, file end)?
result<std::optional<std::uint64_t>> find_later_valid(file_window& w, std::uint64_t from, std::uint64_t file_size,
                                                      std::uint64_t after_seq) {
  for (std::uint64_t off = from; off + format::header_bytes <= file_size; ++off) {
    auto head = w.view(off, format::header_bytes);
    if (!head) return head.error();
    const std::string_view h = *head;
    // Cheap filters first so most offsets cost a few byte compares, not a checksum.
    if (static_cast<format::record_type>(h[format::type_offset]) != format::record_type::message) continue;
    std::uint32_t len;
    std::memcpy(&len, h.data() + format::length_offset, 4);
    if (len < format::header_bytes || len > format::max_record_bytes || off + len > file_size) continue;
    if (peek_seq(h) <= after_seq) continue;
    auto rec = w.view(off, len);
    if (!rec) return rec.error();
    if (check_record(*rec).outcome == check_outcome::ok) return std::optional<std::uint64_t>(off);
  }
  return std::optional<std::uint64_t>{};
}

} // namespace

result<scan_result> scan_segment(const readable_file& file, std::uint64_t first_seq, const record_visitor& visit,
                                 const std::atomic<bool>* stop) {
  auto size = file.size();
  if (!size) return size.error();
  scan_result out;
  out.file_bytes = *size;
  out.summary.first_seq = first_seq;
  out.summary.last_seq = first_seq - 1;
  file_window w(file, *size);
  std::uint64_t off = 0;
  while (off < *size) {
    if (stop && stop->load(std::memory_order_relaxed)) {
      out.stopped = true;
      return out;
    }
    auto head = w.view(off, format::header_bytes);
    if (!head) return head.error();
    check_result c{check_outcome::incomplete, 0, "short header"};
    std::string_view rec;
    if (head->size() >= format::length_offset + 4) {
      std::uint32_t len;
      std::memcpy(&len, head->data() + format::length_offset, 4);
      auto full = w.view(off, std::max<std::size_t>(format::header_bytes, std::min<std::size_t>(len, format::max_record_bytes)));
      if (!full) return full.error();
      rec = *full;
      c = check_record(rec);
    }
    if (c.outcome == check_outcome::ok && peek_seq(rec) != out.summary.last_seq + 1) {
      out.end = scan_end::corruption;
      out.bad_offset = off;
      out.reason = "sequence gap: expected seq " + std::to_string(out.summary.last_seq + 1) + ", found " +
                   std::to_string(peek_seq(rec));
      return out;
    }
    if (c.outcome != check_outcome::ok) {
      auto zeros = zero_until_end(w, off, *size);
      if (!zeros) return zeros.error();
      if (*zeros) { // a preallocated tail: the records end here, cleanly
        out.zero_tail_bytes = *size - off;
        return out;
      }
      out.bad_offset = off;
      out.reason = c.reason;
      out.bad_outcome = c.outcome;
      // The bad record's length field cannot be trusted, so look at every later offset.
      auto later = find_later_valid(w, off + 1, *size, out.summary.last_seq);
      if (!later) return later.error();
      if (*later) {
        out.end = scan_end::corruption;
        out.reason += ", followed by a valid record at offset " + std::to_string(**later);
      } else {
        out.end = scan_end::torn_tail;
      }
      return out;
    }
    if (visit) visit(off, rec.substr(0, c.length));
    out.summary.add(peek_seq(rec), off, c.length, peek_timestamp(rec));
    auto& o = out.summary.origins[std::string(peek_origin(rec))];
    o = std::max(o, peek_origin_seq(rec));
    off += c.length;
  }
  return out;
}

result<std::vector<std::uint64_t>> list_segment_files(file_system& fs, const std::string& dir,
                                                      std::vector<std::string>* others) {
  auto names = fs.list_dir(dir);
  if (!names) return names.error();
  std::vector<std::uint64_t> firsts;
  for (const auto& n : *names) {
    if (auto seq = parse_segment_file_name(n)) firsts.push_back(*seq);
    else if (others) others->push_back(n);
  }
  std::sort(firsts.begin(), firsts.end());
  return firsts;
}

} // namespace tandem::journal
