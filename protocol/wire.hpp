// Internal to protocol/: little-endian primitives and the bounds-checked field writer/reader that
// every message codec is built from. Not part of the public API (include codec.hpp / batch.hpp).
//
// Both classes latch the first error: after it, further calls do nothing, so a codec can write
// its field list straight through and check once at the end. Every error names the frame type,
// the record index (inside a batch) and the field.
//
// Beside the raw encodings (str, bytes) both classes have the checked fields name, label, text,
// payload and path, which apply the rules of names.hpp and the limits of limits.hpp -- the same
// check in both directions, so a sender learns from encode() what the receiver's decode() would
// refuse, and a decoded message always re-encodes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/errc.hpp"
#include "protocol/frame.hpp"
#include "protocol/limits.hpp"
#include "protocol/names.hpp"
#include "protocol/result.hpp"

namespace tandem::protocol::wire {

inline constexpr std::size_t max_string_bytes = std::numeric_limits<std::uint16_t>::max();
// The size of an identifier field (trailing_id): hello.instance_id, 128 random bits.
inline constexpr std::size_t id_bytes = 16;
inline constexpr std::size_t max_bytes_bytes = std::numeric_limits<std::uint32_t>::max();
inline constexpr std::size_t max_path_count = std::numeric_limits<std::uint8_t>::max(); // what a u8 count can say

// Loads/stores go through unsigned bytes so they are alignment- and endian-independent.
template <class U>
U load_le(const char* p) noexcept {
  U v = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i)
    v |= static_cast<U>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
inline std::uint32_t load_u32(const char* p) noexcept { return load_le<std::uint32_t>(p); }

template <class U>
void store_le(char* p, U v) noexcept {
  for (std::size_t i = 0; i < sizeof(U); ++i)
    p[i] = static_cast<char>(static_cast<unsigned char>(v >> (8 * i)));
}

template <class U>
void append_le(std::string& out, U v) {
  char buf[sizeof(U)];
  store_le(buf, v);
  out.append(buf, sizeof(U));
}

// Where a field sits when it is inside a list: "records[3]." / "bookmark[0]." in error messages.
struct element {
  const char* list = "records";
  std::size_t index = 0;
};

// "hello: instance: " or "record_batch: records[3].topic: " -- prefix of every error message.
std::string field_prefix(frame_type type, std::optional<element> at, const char* field);

// The instance-name rule for entry i of a path, naming the entry.
std::optional<names::violation> path_entry_violation(std::size_t i, std::string_view entry);

// Appends one frame to `out`. The constructor writes a placeholder header and the type byte;
// finish() patches the length. On any error `out` is restored to its size before the frame.
class writer {
public:
  writer(std::string& out, frame_type type, std::size_t max_frame_bytes);

  void u8(const char* f, std::uint8_t v) { put(f, v); }
  void u16(const char* f, std::uint16_t v) { put(f, v); }
  void u32(const char* f, std::uint32_t v) { put(f, v); }
  void u64(const char* f, std::uint64_t v) { put(f, v); }
  void i64(const char* f, std::int64_t v) { put(f, static_cast<std::uint64_t>(v)); }
  void flag(const char* f, bool v) { put(f, static_cast<std::uint8_t>(v ? 1 : 0)); }
  template <class E>
  void code16(const char* f, E v) { put(f, static_cast<std::uint16_t>(v)); }
  // A u8 enumeration whose values run 0..=max_value (the reader refuses others).
  template <class E>
  void enum8(const char* f, E v, std::uint8_t /*max_value*/) { put(f, static_cast<std::uint8_t>(v)); }
  void str(const char* f, std::string_view s);
  // A u16 element count, then each element through item(*this, element). More than max_items
  // elements is field_too_long. Element errors are named "<f>[i].<field>".
  template <class Vec, class Item>
  void list16(const char* f, const Vec& items, std::size_t max_items, std::size_t min_item_bytes,
              Item item);
  void bytes(const char* f, std::string_view s);
  // An optional last field: an identifier of exactly id_bytes bytes (u16 length prefix), written
  // only when not empty, so a message without one ends before it (how 1.3 extends 1.2's hello).
  void trailing_id(const char* f, std::string_view s);
  // Optional last fields (client_hello 1.8): the caller writes them only when this returns true,
  // i.e. when `present`; a message without them ends before them.
  bool tail(bool present) const { return present; }
  // Checked fields (names.hpp): an instance name, a label (publisher id, client name), UTF-8
  // text of at most max_bytes, a payload of at most limits::max_payload_bytes, and a path of at
  // most limits::max_path_entries instance names.
  void name(const char* f, std::string_view s) { if (check(f, names::check_instance_name(s))) str(f, s); }
  void label(const char* f, std::string_view s) { if (check(f, names::check_label(s))) str(f, s); }
  void text(const char* f, std::string_view s, std::size_t max_bytes = max_string_bytes) {
    if (check(f, names::check_text(s, max_bytes)))
      str(f, s);
  }
  void payload(const char* f, std::string_view s);
  template <class Range>
  void path(const char* f, const Range& entries);

  // Bytes of the frame written so far (header included) and rollback to such a point; used by
  // batch_encoder to drop a record that failed without losing the records before it.
  std::size_t frame_size() const { return out_.size() - start_; }
  void rewind_to(std::size_t size);
  std::size_t start() const { return start_; }

  void set_record(std::optional<std::size_t> index) { set_element("records", index); }
  void set_element(const char* list, std::optional<std::size_t> index) {
    at_ = index ? std::optional<element>{element{list, *index}} : std::nullopt;
  }
  bool failed() const { return err_.has_value(); }
  const protocol_error& error() const { return *err_; }
  void clear_error() { err_.reset(); }

  // Patches the length field; returns the frame size, or the first error (out restored).
  result<std::size_t> finish();
  // Drops the frame from out.
  void abandon() { out_.resize(start_); }

private:
  template <class U>
  void put(const char* f, U v) {
    if (reserve(f, sizeof(U)))
      append_le(out_, v);
  }
  bool reserve(const char* f, std::size_t n); // false (and error) if n more bytes exceed the max
  void fail(errc code, const char* f, const std::string& what);
  bool check(const char* f, const std::optional<names::violation>& v); // false (and error) on a violation

  std::string& out_;
  std::size_t start_;
  frame_type type_;
  std::size_t max_frame_bytes_;
  std::optional<element> at_;
  std::optional<protocol_error> err_;
};

template <class Range>
void writer::path(const char* f, const Range& entries) {
  if (err_)
    return;
  const std::size_t n = std::size(entries);
  if (n > limits::max_path_entries)
    return fail(errc::field_too_long, f,
                std::to_string(n) + " entries exceed the maximum of " + std::to_string(limits::max_path_entries));
  u8(f, static_cast<std::uint8_t>(n));
  std::size_t i = 0;
  for (const auto& e : entries) {
    const std::string_view s{e};
    if (check(f, path_entry_violation(i++, s)))
      str(f, s);
  }
}

template <class Vec, class Item>
void writer::list16(const char* f, const Vec& items, std::size_t max_items, std::size_t /*min_item_bytes*/,
                    Item item) {
  if (err_)
    return;
  if (items.size() > max_items)
    return fail(errc::field_too_long, f,
                std::to_string(items.size()) + " entries exceed " + std::to_string(max_items));
  u16(f, static_cast<std::uint16_t>(items.size()));
  for (std::size_t i = 0; i < items.size() && !err_; ++i) {
    set_element(f, i);
    item(*this, items[i]);
  }
  set_element(f, std::nullopt);
}

// Whether a reader applies the naming rules of the checked fields. `skip` is only for bytes
// that a checking reader has already accepted (batch_cursor iterating what decode_batch
// validated); lengths and limits are checked either way.
enum class rules { check, skip };

// Reads the fields of one frame body (the bytes after the type byte).
class reader {
public:
  reader(std::string_view body, frame_type type, rules r = rules::check) : in_(body), type_(type), rules_(r) {}

  void u8(const char* f, std::uint8_t& v) { get(f, v); }
  void u16(const char* f, std::uint16_t& v) { get(f, v); }
  void u32(const char* f, std::uint32_t& v) { get(f, v); }
  void u64(const char* f, std::uint64_t& v) { get(f, v); }
  void i64(const char* f, std::int64_t& v);
  void flag(const char* f, bool& v);
  template <class E>
  void code16(const char* f, E& v) {
    std::uint16_t raw = 0;
    get(f, raw);
    v = static_cast<E>(raw);
  }
  // A u8 enumeration; a value above max_value is bad_value.
  template <class E>
  void enum8(const char* f, E& v, std::uint8_t max_value) {
    std::uint8_t raw = 0;
    get(f, raw);
    if (!err_ && raw > max_value)
      return fail(errc::bad_value, f,
                  "must be 0.." + std::to_string(max_value) + ", got " + std::to_string(raw));
    v = static_cast<E>(raw);
  }
  // A u16 element count, refused when over max_items (bad_value) or when count *
  // min_item_bytes cannot fit in what remains (field_overrun), both before anything is
  // reserved; then each element through item(*this, element) into the cleared vector.
  template <class Vec, class Item>
  void list16(const char* f, Vec& items, std::size_t max_items, std::size_t min_item_bytes, Item item);
  void str(const char* f, std::string_view& v) { v = take(f, length<std::uint16_t>(f)); }
  void str(const char* f, std::string& v) { v = take(f, length<std::uint16_t>(f)); }
  void bytes(const char* f, std::string_view& v) { v = take(f, length<std::uint32_t>(f)); }
  void bytes(const char* f, std::string& v) { v = take(f, length<std::uint32_t>(f)); }
  // writer::trailing_id's field: nothing left is "not said" (empty); otherwise exactly id_bytes.
  void trailing_id(const char* f, std::string& v);
  // writer::tail's fields: read them only when bytes are left (none left: "not said").
  bool tail(bool /*present*/) const { return !err_ && remaining() != 0; }
  // Checked fields, as writer's: the raw field, then the rule; a violation is field_too_long
  // (a length) or invalid_field (content), naming the field and the offending byte's offset.
  template <class S>
  void name(const char* f, S& v) {
    str(f, v);
    check(f, [&] { return names::check_instance_name(v); });
  }
  template <class S>
  void label(const char* f, S& v) {
    str(f, v);
    check(f, [&] { return names::check_label(v); });
  }
  template <class S>
  void text(const char* f, S& v, std::size_t max_bytes = max_string_bytes) {
    str(f, v);
    check(f, [&] { return names::check_text(v, max_bytes); });
  }
  // The length is checked before anything is copied.
  template <class S>
  void payload(const char* f, S& v) {
    const std::size_t n = length<std::uint32_t>(f);
    if (!err_ && n > limits::max_payload_bytes)
      return fail(errc::field_too_long, f,
                  std::to_string(n) + " bytes exceed the maximum of " + std::to_string(limits::max_payload_bytes));
    v = take(f, n);
  }
  // Vec: std::vector<std::string> or std::vector<std::string_view> (cleared first). More than
  // limits::max_path_entries entries is field_too_long, before anything is reserved.
  template <class Vec>
  void path(const char* f, Vec& out);
  // A u32 element count, refused if count * min_item_bytes cannot fit in what remains -- so a
  // hostile count can neither make us reserve() a huge vector nor loop past the frame.
  void count(const char* f, std::uint32_t& n, std::size_t min_item_bytes);
  // errc::trailing_bytes unless every byte was consumed.
  void expect_end();

  std::size_t remaining() const { return in_.size() - pos_; }
  std::size_t position() const { return pos_; }
  void set_record(std::optional<std::size_t> index) { set_element("records", index); }
  void set_element(const char* list, std::optional<std::size_t> index) {
    at_ = index ? std::optional<element>{element{list, *index}} : std::nullopt;
  }
  bool failed() const { return err_.has_value(); }
  const protocol_error& error() const { return *err_; }

private:
  template <class U>
  void get(const char* f, U& v) {
    if (need(f, sizeof(U))) {
      v = load_le<U>(in_.data() + pos_);
      pos_ += sizeof(U);
    }
  }
  template <class U>
  std::size_t length(const char* f) {
    U n = 0;
    get(f, n);
    return n;
  }
  std::string_view take(const char* f, std::size_t n) {
    if (!need(f, n))
      return {};
    auto v = in_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  bool need(const char* f, std::size_t n);
  void fail(errc code, const char* f, const std::string& what);
  // Runs the rule only when the field itself was read.
  template <class Rule>
  void check(const char* f, Rule rule) {
    if (err_ || rules_ == rules::skip)
      return;
    if (auto v = rule())
      fail(v->code, f, v->what);
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  frame_type type_;
  rules rules_;
  std::optional<element> at_;
  std::optional<protocol_error> err_;
};

template <class Vec>
void reader::path(const char* f, Vec& out) {
  out.clear();
  std::uint8_t n = 0;
  get(f, n);
  if (err_)
    return;
  if (n > limits::max_path_entries)
    return fail(errc::field_too_long, f,
                std::to_string(n) + " entries exceed the maximum of " + std::to_string(limits::max_path_entries));
  // Each entry is at least its u16 length.
  if (std::size_t{n} * 2 > remaining())
    return fail(errc::field_overrun, f,
                std::to_string(n) + " entries cannot fit in " + std::to_string(remaining()) +
                  " remaining bytes");
  out.reserve(n);
  for (std::uint8_t i = 0; i < n && !err_; ++i) {
    std::string_view s;
    str(f, s);
    check(f, [&] { return path_entry_violation(i, s); });
    if (!err_)
      out.emplace_back(s);
  }
}

template <class Vec, class Item>
void reader::list16(const char* f, Vec& items, std::size_t max_items, std::size_t min_item_bytes, Item item) {
  items.clear();
  std::uint16_t n = 0;
  get(f, n);
  if (err_)
    return;
  if (n > max_items)
    return fail(errc::bad_value, f,
                std::to_string(n) + " entries exceed the maximum of " + std::to_string(max_items));
  if (std::size_t{n} * min_item_bytes > remaining())
    return fail(errc::field_overrun, f,
                std::to_string(n) + " entries cannot fit in " + std::to_string(remaining()) +
                  " remaining bytes");
  items.resize(n);
  for (std::size_t i = 0; i < n && !err_; ++i) {
    set_element(f, i);
    item(*this, items[i]);
  }
  set_element(f, std::nullopt);
}

} // namespace tandem::protocol::wire
