#include "protocol/wire.hpp"

#include <algorithm>
#include <cassert>

namespace tandem::protocol::wire {

std::string field_prefix(frame_type type, std::optional<element> at, const char* field) {
  std::string s{frame_type_name(type)};
  s += ": ";
  if (at) {
    s += std::string{at->list} + "[" + std::to_string(at->index) + "].";
  }
  s += field;
  s += ": ";
  return s;
}

writer::writer(std::string& out, frame_type type, std::size_t max_frame_bytes)
  : out_(out), start_(out.size()), type_(type),
    // The length field is a u32, whatever the caller configured.
    max_frame_bytes_(std::min<std::size_t>(max_frame_bytes, std::numeric_limits<std::uint32_t>::max())) {
  append_le<std::uint32_t>(out_, 0);
  out_.push_back(static_cast<char>(type));
}

std::optional<names::violation> path_entry_violation(std::size_t i, std::string_view entry) {
  auto v = names::check_instance_name(entry);
  if (v)
    v->what = "entry " + std::to_string(i) + ": " + v->what;
  return v;
}

void writer::fail(errc code, const char* f, const std::string& what) {
  if (!err_)
    err_ = protocol_error{code, field_prefix(type_, at_, f) + what};
}

bool writer::reserve(const char* f, std::size_t n) {
  if (err_)
    return false;
  // Checked before appending, so an oversized payload is never copied only to be dropped.
  const std::size_t length_so_far = frame_size() - frame_header_bytes;
  if (n > max_frame_bytes_ - length_so_far) {
    fail(errc::frame_too_large, f,
         "frame would exceed the maximum of " + std::to_string(max_frame_bytes_) + " bytes");
    return false;
  }
  return true;
}

void writer::str(const char* f, std::string_view s) {
  if (s.size() > max_string_bytes)
    return fail(errc::field_too_long, f,
                "string of " + std::to_string(s.size()) + " bytes exceeds 65535");
  if (reserve(f, 2 + s.size())) {
    append_le(out_, static_cast<std::uint16_t>(s.size()));
    out_.append(s);
  }
}

void writer::bytes(const char* f, std::string_view s) {
  if (s.size() > max_bytes_bytes)
    return fail(errc::field_too_long, f,
                std::to_string(s.size()) + " bytes exceed the u32 length prefix");
  if (reserve(f, 4 + s.size())) {
    append_le(out_, static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
}

void writer::trailing_id(const char* f, std::string_view s) {
  if (s.empty())
    return;
  if (s.size() != id_bytes)
    return fail(errc::bad_value, f, "must be " + std::to_string(id_bytes) + " bytes, got " + std::to_string(s.size()));
  str(f, s);
}

bool writer::check(const char* f, const std::optional<names::violation>& v) {
  if (err_)
    return false;
  if (v) {
    fail(v->code, f, v->what);
    return false;
  }
  return true;
}

void writer::payload(const char* f, std::string_view s) {
  if (s.size() > limits::max_payload_bytes)
    return fail(errc::field_too_long, f,
                std::to_string(s.size()) + " bytes exceed the maximum of " + std::to_string(limits::max_payload_bytes));
  bytes(f, s);
}

void writer::rewind_to(std::size_t size) {
  assert(size >= frame_header_bytes + 1 && size <= frame_size());
  out_.resize(start_ + size);
}

result<std::size_t> writer::finish() {
  if (err_) {
    abandon();
    return *err_;
  }
  const std::size_t size = frame_size();
  // reserve() kept length <= max_frame_bytes_ <= UINT32_MAX.
  store_le(out_.data() + start_, static_cast<std::uint32_t>(size - frame_header_bytes));
  return size;
}

void reader::fail(errc code, const char* f, const std::string& what) {
  if (!err_)
    err_ = protocol_error{code, field_prefix(type_, at_, f) + what};
}

bool reader::need(const char* f, std::size_t n) {
  if (err_)
    return false;
  if (n > remaining()) {
    fail(errc::field_overrun, f,
         "needs " + std::to_string(n) + " bytes, " + std::to_string(remaining()) +
           " remain in the frame");
    return false;
  }
  return true;
}

void reader::i64(const char* f, std::int64_t& v) {
  std::uint64_t raw = 0;
  get(f, raw);
  v = static_cast<std::int64_t>(raw); // two's complement, well-defined since C++20
}

void reader::flag(const char* f, bool& v) {
  std::uint8_t raw = 0;
  get(f, raw);
  if (raw > 1)
    return fail(errc::bad_value, f, "must be 0 or 1, got " + std::to_string(raw));
  v = raw == 1;
}

void reader::count(const char* f, std::uint32_t& n, std::size_t min_item_bytes) {
  get(f, n);
  if (err_)
    return;
  if (std::uint64_t{n} * min_item_bytes > remaining())
    fail(errc::field_overrun, f,
         "count " + std::to_string(n) + " cannot fit in " + std::to_string(remaining()) +
           " remaining bytes");
}

void reader::trailing_id(const char* f, std::string& v) {
  v.clear();
  if (err_ || remaining() == 0)
    return;
  str(f, v);
  if (!err_ && v.size() != id_bytes)
    fail(errc::bad_value, f, "must be " + std::to_string(id_bytes) + " bytes, got " + std::to_string(v.size()));
}

void reader::expect_end() {
  if (!err_ && remaining() != 0) {
    err_ = protocol_error{errc::trailing_bytes,
                          std::string{frame_type_name(type_)} + ": " +
                            std::to_string(remaining()) + " trailing bytes after the last field"};
  }
}

} // namespace tandem::protocol::wire
