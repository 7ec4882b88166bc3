#include "journal/record_codec.hpp"

#include <bit>
#include <cstring>

#include "journal/crc32c.hpp"
#include "journal/record_format.hpp"

static_assert(std::endian::native == std::endian::little, "the codec assumes a little-endian host");

namespace tandem::journal {

namespace f = format;

namespace {

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

template <class T>
T get(std::string_view buf, std::size_t off) noexcept {
  T v;
  std::memcpy(&v, buf.data() + off, sizeof(T));
  return v;
}

status too_large(const char* what, std::size_t got, std::size_t max) {
  return {errc::record_too_large,
          std::string(what) + " is " + std::to_string(got) + " bytes, maximum " + std::to_string(max)};
}

} // namespace

std::size_t encoded_size(const record& r) noexcept { return encoded_size(r, r.origin); }

std::size_t encoded_size(const record& r, std::string_view origin) noexcept {
  std::size_t n = f::header_bytes + origin.size() + r.publisher.size() + r.topic.size() + r.payload.size();
  for (const auto& p : r.path) n += 1 + p.size();
  return n;
}

status validate_record(const record& r) { return validate_record(r, r.origin); }

status validate_record(const record& r, std::string_view origin) {
  if (origin.empty()) return {errc::invalid_argument, "record origin is empty"};
  if (origin.size() > f::max_name_bytes) return too_large("origin", origin.size(), f::max_name_bytes);
  if (r.publisher.size() > f::max_name_bytes)
    return too_large("publisher", r.publisher.size(), f::max_name_bytes);
  if (r.path.size() > f::max_path_entries)
    return {errc::record_too_large, "path has " + std::to_string(r.path.size()) + " entries, maximum " +
                                        std::to_string(f::max_path_entries)};
  for (const auto& p : r.path) {
    if (p.empty()) return {errc::invalid_argument, "path entry is empty"};
    if (p.size() > f::max_name_bytes) return too_large("path entry", p.size(), f::max_name_bytes);
  }
  if (r.topic.size() > f::max_topic_bytes) return too_large("topic", r.topic.size(), f::max_topic_bytes);
  if (r.payload.size() > f::max_payload_bytes)
    return too_large("payload", r.payload.size(), f::max_payload_bytes);
  return {};
}

void encode_record(const record& r, std::string& out) { encode_record(r, r.seq, r.origin, r.origin_seq, out); }

void encode_record(const record& r, std::uint64_t seq, std::string_view origin, std::uint64_t origin_seq,
                   std::string& out) {
  const std::size_t start = out.size();
  const auto length = static_cast<std::uint32_t>(encoded_size(r, origin));
  put<std::uint32_t>(out, 0); // crc, patched below
  put<std::uint32_t>(out, length);
  put<std::uint8_t>(out, static_cast<std::uint8_t>(f::record_type::message));
  put<std::uint8_t>(out, static_cast<std::uint8_t>(origin.size()));
  put<std::uint8_t>(out, static_cast<std::uint8_t>(r.publisher.size()));
  put<std::uint8_t>(out, static_cast<std::uint8_t>(r.path.size()));
  put<std::uint16_t>(out, static_cast<std::uint16_t>(r.topic.size()));
  put<std::uint16_t>(out, 0);
  put<std::uint64_t>(out, seq);
  put<std::uint64_t>(out, origin_seq);
  put<std::uint64_t>(out, r.publisher_seq);
  put<std::int64_t>(out, r.timestamp_ns);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(r.payload.size()));
  out += origin;
  out += r.publisher;
  for (const auto& p : r.path) {
    put<std::uint8_t>(out, static_cast<std::uint8_t>(p.size()));
    out += p;
  }
  out += r.topic;
  out += r.payload;
  const std::uint32_t crc =
      crc32c::mask(crc32c::value(out.data() + start + f::checksummed_from, length - f::checksummed_from));
  std::memcpy(out.data() + start, &crc, 4);
}

check_result check_record(std::string_view buf) noexcept {
  if (buf.size() < f::type_offset) return {check_outcome::incomplete, 0, "short header"};
  const auto length = get<std::uint32_t>(buf, f::length_offset);
  if (length < f::header_bytes || length > f::max_record_bytes) {
    // Zero fill (preallocated or never-written space) lands here: length 0.
    return {check_outcome::invalid, 0, length == 0 ? "zero length (zero fill)" : "impossible length"};
  }
  if (buf.size() < length) return {check_outcome::incomplete, 0, "record extends past end of data"};
  const auto stored = crc32c::unmask(get<std::uint32_t>(buf, f::crc_offset));
  if (stored != crc32c::value(buf.data() + f::checksummed_from, length - f::checksummed_from))
    return {check_outcome::invalid, 0, "checksum mismatch"};
  // The checksum matched, so the fields below are what the writer wrote; a mismatch here means a
  // writer bug or a different format version, which is corruption all the same.
  if (static_cast<f::record_type>(buf[f::type_offset]) != f::record_type::message)
    return {check_outcome::invalid, 0, "unknown record type"};
  if (get<std::uint16_t>(buf, f::reserved_offset) != 0) return {check_outcome::invalid, 0, "reserved bits set"};
  const std::size_t origin_len = static_cast<std::uint8_t>(buf[f::origin_len_offset]);
  const std::size_t publisher_len = static_cast<std::uint8_t>(buf[f::publisher_len_offset]);
  const std::size_t path_count = static_cast<std::uint8_t>(buf[f::path_count_offset]);
  const std::size_t topic_len = get<std::uint16_t>(buf, f::topic_len_offset);
  const std::size_t payload_len = get<std::uint32_t>(buf, f::payload_len_offset);
  if (origin_len == 0 || path_count > f::max_path_entries || payload_len > f::max_payload_bytes)
    return {check_outcome::invalid, 0, "field size out of range"};
  std::size_t off = f::header_bytes + origin_len + publisher_len;
  for (std::size_t i = 0; i < path_count; ++i) {
    if (off >= length) return {check_outcome::invalid, 0, "path overruns record"};
    const std::size_t n = static_cast<std::uint8_t>(buf[off]);
    if (n == 0) return {check_outcome::invalid, 0, "empty path entry"};
    off += 1 + n;
  }
  if (off + topic_len + payload_len != length) return {check_outcome::invalid, 0, "field sizes do not add up"};
  return {check_outcome::ok, length, ""};
}

record decode_record(std::string_view buf) {
  record r;
  r.seq = get<std::uint64_t>(buf, f::seq_offset);
  r.origin_seq = get<std::uint64_t>(buf, f::origin_seq_offset);
  r.publisher_seq = get<std::uint64_t>(buf, f::publisher_seq_offset);
  r.timestamp_ns = get<std::int64_t>(buf, f::timestamp_offset);
  const std::size_t origin_len = static_cast<std::uint8_t>(buf[f::origin_len_offset]);
  const std::size_t publisher_len = static_cast<std::uint8_t>(buf[f::publisher_len_offset]);
  const std::size_t path_count = static_cast<std::uint8_t>(buf[f::path_count_offset]);
  const std::size_t topic_len = get<std::uint16_t>(buf, f::topic_len_offset);
  const std::size_t payload_len = get<std::uint32_t>(buf, f::payload_len_offset);
  std::size_t off = f::header_bytes;
  r.origin.assign(buf.substr(off, origin_len));
  off += origin_len;
  r.publisher.assign(buf.substr(off, publisher_len));
  off += publisher_len;
  r.path.reserve(path_count);
  for (std::size_t i = 0; i < path_count; ++i) {
    const std::size_t n = static_cast<std::uint8_t>(buf[off]);
    r.path.emplace_back(buf.substr(off + 1, n));
    off += 1 + n;
  }
  r.topic.assign(buf.substr(off, topic_len));
  off += topic_len;
  r.payload.assign(buf.substr(off, payload_len));
  return r;
}

std::uint64_t peek_seq(std::string_view buf) noexcept { return get<std::uint64_t>(buf, f::seq_offset); }
std::int64_t peek_timestamp(std::string_view buf) noexcept { return get<std::int64_t>(buf, f::timestamp_offset); }
std::uint64_t peek_origin_seq(std::string_view buf) noexcept { return get<std::uint64_t>(buf, f::origin_seq_offset); }
std::string_view peek_origin(std::string_view buf) noexcept {
  return buf.substr(f::header_bytes, static_cast<std::uint8_t>(buf[f::origin_len_offset]));
}
std::uint64_t peek_publisher_seq(std::string_view buf) noexcept {
  return get<std::uint64_t>(buf, f::publisher_seq_offset);
}
std::string_view peek_publisher(std::string_view buf) noexcept {
  return buf.substr(f::header_bytes + static_cast<std::uint8_t>(buf[f::origin_len_offset]),
                    static_cast<std::uint8_t>(buf[f::publisher_len_offset]));
}

} // namespace tandem::journal
