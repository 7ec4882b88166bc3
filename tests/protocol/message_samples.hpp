// Sample messages for the codec tests: every type at its minimum, at its maximum, and random.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/limits.hpp"
#include "protocol/messages.hpp"

namespace tandem::protocol::samples {

inline constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::uint16_t u16_max = std::numeric_limits<std::uint16_t>::max();
inline constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();

// Zeros and empty strings/payloads wherever the format allows them; instance names (which must
// not be empty) one character long.
inline std::vector<message> min_messages() {
  record r; // all zero / empty, path empty
  r.origin_instance = "o";
  return {
    hello{0, 0, "a", "g", 0, "", 0, {}},
    record_batch{{r}},
    durable_ack{0},
    heartbeat{0},
    close_frame{close_code::normal, ""},
    client_hello{0, 0, ""},
    publish{"", "", "", 0},
    persisted_ack{0, 0},
    negative_ack{0, nack_reason{0}, ""},
    subscribe{0, "", false, 0},
    delivered{0, 0, "o", 0, i64_min, "", "", "", 0},
    unsubscribe{0},
    publisher_logon{""},
    publisher_logon_ack{"", 0},
    subscribe_from{0, "", subscribe_start::after_bookmark, i64_min, false, {}},
    subscription_gap{0, "", 0, 0, gap_reason{0}},
    persisted_partial{0, 0, {"a"}},
    replicated{"", 1},
    waiting{0, {"a"}},
    validation{false, false, "", {}},
    digest_request{0, "o", 1, 1, 1},
    digest_reply{0, "o", 1, 1, 1, 0, 0, "", {{0, 0}}},
    repair_batch{{r}},
    repair_ack{1, 0},
    compressed_batch{compression_algorithm::lz4, 5, ""},
  };
}

// `n` bytes of well-formed UTF-8 mixing 1- to 4-byte sequences ("a", U+00E9, U+20AC, U+1F600),
// padded with ASCII at the end.
inline std::string utf8_text(std::size_t n) {
  static const char* const pieces[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
  std::string s;
  for (std::size_t i = 0; s.size() + 4 <= n; ++i)
    s += pieces[i % 4];
  s.append(n - s.size(), 'z');
  return s;
}

// The longest name, label, topic: at their limits (limits.hpp, names.hpp).
inline std::string max_name() { return std::string(64, 'N'); }
inline std::string max_label() { return utf8_text(255); }
inline std::string max_text() { return utf8_text(65535); }

// The most entries a bookmark may have, one of them with a 64-byte origin name.
inline std::vector<bookmark_entry> max_bookmark() {
  std::vector<bookmark_entry> b(max_bookmark_entries);
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = {"origin-" + std::to_string(i), u64_max - i};
  b[7].origin_instance = max_name();
  return b;
}

// The most destination names a frame may list, strictly ascending, one of them 64 bytes long.
inline std::vector<std::string> max_destination_list() {
  std::vector<std::string> v;
  for (std::size_t i = 0; i + 1 < max_destination_names; ++i) {
    std::string n = std::to_string(i);
    v.push_back("dest-" + std::string(4 - n.size(), '0') + n);
  }
  v.push_back("z" + std::string(63, 'Z'));
  return v;
}

// The most passthrough patterns a validation frame may carry, each at the pattern limit.
inline std::vector<std::string> max_passthrough() {
  return std::vector<std::string>(limits::max_passthrough_patterns, utf8_text(limits::max_pattern_bytes));
}

// The largest digest reply: 1024 buckets over the whole origin_seq space, full counts, a 1024-byte error-free reply.
inline digest_reply max_digest_reply() {
  digest_reply r{u64_max, max_name(), 1, u64_max, 1024, u64_max, u64_max, "", {}};
  r.buckets.assign(1024, digest_reply_bucket{u64_max / 1024, u64_max}); // width = ceil(u64_max / 1024)
  return r;
}

// Largest values: u64 max, names, labels and text at their limits, large payloads, 32 path
// entries.
inline std::vector<message> max_messages() {
  const std::string name = max_name();
  const std::string label = max_label();
  const std::string text = max_text();
  const std::string big(4 * 1024 * 1024, '\xff');
  record r{u64_max, name, u64_max, label, u64_max, i64_max, {}, text, big};
  r.path.assign(32, "peer");
  r.path[0] = name;
  record r2 = r;
  r2.timestamp_ns = i64_min;
  return {
    hello{u16_max, u16_max, name, name, u64_max, big, u64_max, std::string(16, '\xff')},
    record_batch{{r, r2}},
    durable_ack{u64_max},
    heartbeat{u64_max},
    close_frame{close_code{u16_max}, text},
    client_hello{u16_max, u16_max, label},
    publish{text, big, label, u64_max},
    persisted_ack{u64_max, u64_max},
    negative_ack{u64_max, nack_reason{u16_max}, text},
    subscribe{u64_max, text, true, u64_max},
    delivered{u64_max, u64_max, name, u64_max, i64_max, text, big, label, u64_max},
    unsubscribe{u64_max},
    publisher_logon{label},
    publisher_logon_ack{label, u64_max},
    subscribe_from{u64_max, text, subscribe_start::from_time, i64_max, true, max_bookmark()},
    subscription_gap{u64_max, name, u64_max, u64_max, gap_reason{u16_max}},
    persisted_partial{u64_max, u64_max, max_destination_list()},
    replicated{label, u64_max},
    waiting{u64_max, max_destination_list()},
    validation{true, true, utf8_text(limits::max_pattern_bytes), max_passthrough()},
    digest_request{u64_max, name, u64_max, u64_max, 1024},
    max_digest_reply(),
    repair_batch{{r, r2}},
    repair_ack{u64_max, u64_max},
    compressed_batch{compression_algorithm::zstd, static_cast<std::uint32_t>(default_max_frame_bytes), big},
  };
}

class random_messages {
public:
  explicit random_messages(std::uint64_t seed) : rng_(seed) {}

  // A random message of type index `which` (variant order, modulo the variant's size).
  message make(std::size_t which) {
    switch (which % std::variant_size_v<message>) {
      case 0: return hello{u16(), u16(), name(), name(), u64(), bin(), u64(), upto(2) ? bytes_of(16) : std::string{}};
      case 1: {
        record_batch b;
        const std::size_t n = 1 + upto(8);
        for (std::size_t i = 0; i < n; ++i)
          b.records.push_back(rec());
        return b;
      }
      case 2: return durable_ack{u64()};
      case 3: return heartbeat{u64()};
      case 4: return close_frame{close_code{u16()}, text()};
      case 5: return client_hello{u16(), u16(), label()};
      case 6: return publish{text(), bin(), label(), u64()};
      case 7: return persisted_ack{u64(), u64()};
      case 8: return negative_ack{u64(), nack_reason{u16()}, text()};
      case 9: return subscribe{u64(), text(), upto(2) == 1, u64()};
      case 10: return delivered{u64(), u64(), name(), u64(), i64(), text(), bin(), label(), u64()};
      case 11: return unsubscribe{u64()};
      case 12: return publisher_logon{label()};
      case 13: return publisher_logon_ack{label(), u64()};
      case 15: {
        const auto a = u64(), b = u64(); // a valid range: last >= first
        return subscription_gap{u64(), name(), std::min(a, b), std::max(a, b), gap_reason{u16()}};
      }
      case 16: return persisted_partial{u64(), u64(), name_set()};
      case 17: return replicated{label(), std::max<std::uint64_t>(u64(), 1)};
      case 18: return waiting{u64(), name_set()};
      case 19: {
        if (upto(3) == 0)
          return validation{};
        validation v{true, upto(2) == 1, text(), {}};
        for (std::size_t i = upto(4); i > 0; --i)
          v.passthrough.push_back(text());
        return v;
      }
      case 20: {
        const auto a = std::max<std::uint64_t>(u64(), 1), b = std::max<std::uint64_t>(u64(), 1);
        return digest_request{u64(), name(), std::min(a, b), std::max(a, b), static_cast<std::uint16_t>(1 + upto(1024))};
      }
      case 21: return digest_reply_sample();
      case 22: {
        repair_batch b;
        for (std::size_t n = 1 + upto(8); n > 0; --n)
          b.records.push_back(rec());
        return b;
      }
      case 23: {
        const auto records = std::max<std::uint64_t>(u64(), 1);
        return repair_ack{records, std::min(records, u64())};
      }
      case 24: // decodes; its stream is random, so it does not decompress
        return compressed_batch{static_cast<compression_algorithm>(1 + upto(max_compression_algorithm)),
                                static_cast<std::uint32_t>(5 + upto(1 << 20)), bin()};
      default: {
        subscribe_from f{u64(), text(), static_cast<subscribe_start>(upto(max_subscribe_start + 1)), i64(),
                         upto(2) == 1, {}};
        const std::size_t n = upto(4) == 0 ? upto(300) : upto(4);
        for (std::size_t i = 0; i < n; ++i)
          f.bookmark.push_back({name(), u64()});
        return f;
      }
    }
  }
  message make() { return make(upto(std::variant_size_v<message>)); }

  // A well-formed digest_reply: small range, buckets as its geometry gives, counts within width.
  digest_reply digest_reply_sample() {
    const std::uint64_t from = 1 + upto(1000), to = from + upto(5000);
    digest_reply r{u64(), name(), from, to, static_cast<std::uint16_t>(1 + upto(64)), u64(), u64(), "", {}};
    if (upto(8) == 0) {
      r.error = text();
      if (!r.error.empty())
        return r;
    }
    const std::uint64_t span = to - from + 1, width = (span + r.buckets_requested - 1) / r.buckets_requested;
    for (std::uint64_t first = from; first <= to; first += width)
      r.buckets.push_back({upto(std::min(width, to - first + 1) + 1), u64()});
    return r;
  }

  // 1..5 distinct instance names, ascending (persisted_partial.not_on, waiting.destinations).
  std::vector<std::string> name_set() {
    std::vector<std::string> v;
    const std::size_t n = 1 + upto(5);
    for (std::size_t i = 0; i < n; ++i)
      v.push_back(name());
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    return v;
  }

  record rec() {
    record r{u64(), name(), u64(), label(), u64(), i64(), {}, text(), bin()};
    const std::size_t hops = upto(4);
    for (std::size_t i = 0; i < hops; ++i)
      r.path.push_back(name());
    return r;
  }

  std::uint64_t u64() {
    // Mix in edge values: random 64-bit numbers almost never hit 0 or max.
    switch (upto(8)) {
      case 0: return 0;
      case 1: return u64_max;
      default: return rng_();
    }
  }
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u64()); }
  // Random raw bytes (for `bytes` fields), and random values of each naming rule (names.hpp).
  std::string str() { return bytes_of(upto(40)); }
  std::string name() {
    static constexpr std::string_view chars = "ABCXYZabcxyz0189._-";
    std::string s(1 + upto(upto(8) == 0 ? 64 : 12), 'a');
    for (char& c : s)
      c = chars[upto(chars.size())];
    return s;
  }
  // Code points from every UTF-8 length; labels skip the control characters.
  std::string text() { return code_points(upto(20), false); }
  std::string label() { return code_points(upto(20), true); }
  std::string bin() { return bytes_of(upto(8) == 0 ? upto(5000) : upto(64)); }
  std::size_t upto(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
  std::mt19937_64& rng() { return rng_; }

private:
  std::string code_points(std::size_t n, bool printable) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) {
      char32_t c = 0;
      switch (upto(4)) {
        case 0: c = static_cast<char32_t>(upto(0x80)); break;
        case 1: c = static_cast<char32_t>(0x80 + upto(0x800 - 0x80)); break;
        case 2: c = static_cast<char32_t>(0x800 + upto(0x10000 - 0x800)); break;
        default: c = static_cast<char32_t>(0x10000 + upto(0x110000 - 0x10000)); break;
      }
      if ((c >= 0xd800 && c <= 0xdfff) || (printable && (c < 0x20 || (c >= 0x7f && c <= 0x9f))))
        c = U'x';
      append_utf8(s, c);
    }
    return s;
  }
  static void append_utf8(std::string& s, char32_t c) {
    auto b = [&](unsigned v) { s.push_back(static_cast<char>(v)); };
    if (c < 0x80) {
      b(c);
    } else if (c < 0x800) {
      b(0xc0 | (c >> 6)); b(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      b(0xe0 | (c >> 12)); b(0x80 | ((c >> 6) & 0x3f)); b(0x80 | (c & 0x3f));
    } else {
      b(0xf0 | (c >> 18)); b(0x80 | ((c >> 12) & 0x3f)); b(0x80 | ((c >> 6) & 0x3f)); b(0x80 | (c & 0x3f));
    }
  }
  std::string bytes_of(std::size_t n) {
    std::string s(n, '\0');
    for (char& c : s)
      c = static_cast<char>(rng_());
    return s;
  }
  std::mt19937_64 rng_;
};

} // namespace tandem::protocol::samples
