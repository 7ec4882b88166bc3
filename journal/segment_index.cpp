#include "journal/segment_index.hpp"

#include <algorithm>
#include <cstring>

#include "journal/crc32c.hpp"
#include "journal/record_format.hpp"

namespace tandem::journal {

namespace {

constexpr std::uint32_t sidecar_magic = 0x58494a54; // "TJIX"
constexpr std::uint32_t sidecar_version = 1;

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

// Bounds-checked sequential reader; any overrun makes the whole sidecar invalid.
struct cursor_in {
  std::string_view d;
  std::size_t off = 0;
  bool bad = false;
  template <class T>
  T get() {
    T v{};
    if (off + sizeof(T) > d.size()) {
      bad = true;
      return v;
    }
    std::memcpy(&v, d.data() + off, sizeof(T));
    off += sizeof(T);
    return v;
  }
  std::string_view bytes(std::size_t n) {
    if (off + n > d.size()) {
      bad = true;
      return {};
    }
    auto s = d.substr(off, n);
    off += n;
    return s;
  }
};

} // namespace

void merge_origins(origin_map& into, const origin_map& from) {
  for (const auto& [name, seq] : from) {
    auto& v = into[name];
    v = std::max(v, seq);
  }
}

void segment_summary::add(std::uint64_t seq, std::uint64_t offset, std::uint32_t length, std::int64_t ts) {
  if (entries.empty() || offset >= entries.back().offset + format::index_interval_bytes)
    entries.push_back({seq, offset});
  last_seq = seq;
  ++record_count;
  bytes = offset + length;
  max_timestamp_ns = record_count == 1 ? ts : std::max(max_timestamp_ns, ts);
}

void segment_summary::truncate(std::uint64_t offset, std::uint64_t new_last_seq) {
  while (!entries.empty() && entries.back().offset >= offset) entries.pop_back();
  record_count -= last_seq - new_last_seq;
  last_seq = new_last_seq;
  bytes = offset;
}

index_entry segment_summary::seek_hint(std::uint64_t seq) const {
  auto it = std::upper_bound(entries.begin(), entries.end(), seq,
                             [](std::uint64_t s, const index_entry& e) { return s < e.seq; });
  if (it == entries.begin()) return {first_seq, 0};
  return *std::prev(it);
}

std::string encode_sidecar(const segment_summary& s) {
  std::string out;
  out.reserve(64 + s.entries.size() * 16 + s.origins.size() * 32);
  put(out, sidecar_magic);
  put(out, sidecar_version);
  put(out, s.first_seq);
  put(out, s.last_seq);
  put(out, s.record_count);
  put(out, s.bytes);
  put(out, s.max_timestamp_ns);
  put(out, static_cast<std::uint32_t>(s.entries.size()));
  put(out, static_cast<std::uint32_t>(s.origins.size()));
  for (const auto& e : s.entries) {
    put(out, e.seq);
    put(out, e.offset);
  }
  for (const auto& [name, seq] : s.origins) {
    put(out, static_cast<std::uint8_t>(name.size())); // names are <= max_name_bytes (validated on append)
    out += name;
    put(out, seq);
  }
  put(out, crc32c::mask(crc32c::value(out.data(), out.size())));
  return out;
}

std::optional<segment_summary> decode_sidecar(std::string_view data) {
  if (data.size() < 4) return std::nullopt;
  std::uint32_t stored;
  std::memcpy(&stored, data.data() + data.size() - 4, 4);
  if (crc32c::unmask(stored) != crc32c::value(data.data(), data.size() - 4)) return std::nullopt;
  cursor_in in{data.substr(0, data.size() - 4)};
  if (in.get<std::uint32_t>() != sidecar_magic || in.get<std::uint32_t>() != sidecar_version) return std::nullopt;
  segment_summary s;
  s.first_seq = in.get<std::uint64_t>();
  s.last_seq = in.get<std::uint64_t>();
  s.record_count = in.get<std::uint64_t>();
  s.bytes = in.get<std::uint64_t>();
  s.max_timestamp_ns = in.get<std::int64_t>();
  const auto n_entries = in.get<std::uint32_t>();
  const auto n_origins = in.get<std::uint32_t>();
  if (in.bad || n_entries > (in.d.size() - in.off) / 16) return std::nullopt; // bound before reserving
  s.entries.reserve(n_entries);
  for (std::uint32_t i = 0; i < n_entries; ++i) {
    index_entry e;
    e.seq = in.get<std::uint64_t>();
    e.offset = in.get<std::uint64_t>();
    s.entries.push_back(e);
  }
  for (std::uint32_t i = 0; i < n_origins && !in.bad; ++i) {
    const auto len = in.get<std::uint8_t>();
    std::string name(in.bytes(len));
    s.origins[name] = in.get<std::uint64_t>();
  }
  if (in.bad || in.off != in.d.size()) return std::nullopt;
  if (s.record_count != (s.record_count == 0 ? 0 : s.last_seq - s.first_seq + 1)) return std::nullopt;
  if (s.record_count > 0 && (s.entries.empty() || s.entries.front().seq != s.first_seq)) return std::nullopt;
  return s;
}

} // namespace tandem::journal
