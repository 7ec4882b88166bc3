// Sample messages for the codec tests: every type at its minimum, at its maximum, and random.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "protocol/messages.hpp"

namespace tandem::protocol::samples {

inline constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::uint16_t u16_max = std::numeric_limits<std::uint16_t>::max();
inline constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();
inline constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();

// Zeros and empty strings/payloads wherever the format allows them.
inline std::vector<message> min_messages() {
  record r; // all zero / empty, path empty
  return {
    hello{0, 0, "", "", 0, "", 0},
    record_batch{{r}},
    durable_ack{0},
    heartbeat{0},
    close_frame{close_code::normal, ""},
    client_hello{0, 0, ""},
    publish{"", "", "", 0},
    persisted_ack{0, 0},
    negative_ack{0, nack_reason{0}, ""},
    subscribe{0, "", false, 0},
    delivered{0, 0, "", 0, i64_min, "", "", "", 0},
    unsubscribe{0},
    publisher_logon{""},
    publisher_logon_ack{"", 0},
    subscribe_from{0, "", subscribe_start::after_bookmark, i64_min, false, {}},
    subscription_gap{0, "", 0, 0, gap_reason{0}},
  };
}

// The most entries a bookmark may have, one of them with a 65535-byte origin name.
inline std::vector<bookmark_entry> max_bookmark() {
  std::vector<bookmark_entry> b(max_bookmark_entries);
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = {"origin-" + std::to_string(i), u64_max - i};
  b[7].origin_instance.assign(65535, 'o');
  return b;
}

// Largest values: u64 max, 65535-byte strings, large payloads, 255 path entries.
inline std::vector<message> max_messages() {
  const std::string s(65535, 's');
  const std::string big(4 * 1024 * 1024, '\xff');
  record r{u64_max, s, u64_max, s, u64_max, i64_max, {}, s, big};
  r.path.assign(255, "peer");
  r.path[0] = s;
  record r2 = r;
  r2.timestamp_ns = i64_min;
  return {
    hello{u16_max, u16_max, s, s, u64_max, big, u64_max},
    record_batch{{r, r2}},
    durable_ack{u64_max},
    heartbeat{u64_max},
    close_frame{close_code{u16_max}, s},
    client_hello{u16_max, u16_max, s},
    publish{s, big, s, u64_max},
    persisted_ack{u64_max, u64_max},
    negative_ack{u64_max, nack_reason{u16_max}, s},
    subscribe{u64_max, s, true, u64_max},
    delivered{u64_max, u64_max, s, u64_max, i64_max, s, big, s, u64_max},
    unsubscribe{u64_max},
    publisher_logon{s},
    publisher_logon_ack{s, u64_max},
    subscribe_from{u64_max, s, subscribe_start::from_time, i64_max, true, max_bookmark()},
    subscription_gap{u64_max, s, u64_max, u64_max, gap_reason{u16_max}},
  };
}

class random_messages {
public:
  explicit random_messages(std::uint64_t seed) : rng_(seed) {}

  // A random message of type index `which` (variant order, modulo the variant's size).
  message make(std::size_t which) {
    switch (which % std::variant_size_v<message>) {
      case 0: return hello{u16(), u16(), str(), str(), u64(), bin(), u64()};
      case 1: {
        record_batch b;
        const std::size_t n = 1 + upto(8);
        for (std::size_t i = 0; i < n; ++i)
          b.records.push_back(rec());
        return b;
      }
      case 2: return durable_ack{u64()};
      case 3: return heartbeat{u64()};
      case 4: return close_frame{close_code{u16()}, str()};
      case 5: return client_hello{u16(), u16(), str()};
      case 6: return publish{str(), bin(), str(), u64()};
      case 7: return persisted_ack{u64(), u64()};
      case 8: return negative_ack{u64(), nack_reason{u16()}, str()};
      case 9: return subscribe{u64(), str(), upto(2) == 1, u64()};
      case 10: return delivered{u64(), u64(), str(), u64(), i64(), str(), bin(), str(), u64()};
      case 11: return unsubscribe{u64()};
      case 12: return publisher_logon{str()};
      case 13: return publisher_logon_ack{str(), u64()};
      case 15: {
        const auto a = u64(), b = u64(); // a valid range: last >= first
        return subscription_gap{u64(), str(), std::min(a, b), std::max(a, b), gap_reason{u16()}};
      }
      default: {
        subscribe_from f{u64(), str(), static_cast<subscribe_start>(upto(max_subscribe_start + 1)), i64(),
                         upto(2) == 1, {}};
        const std::size_t n = upto(4) == 0 ? upto(300) : upto(4);
        for (std::size_t i = 0; i < n; ++i)
          f.bookmark.push_back({str(), u64()});
        return f;
      }
    }
  }
  message make() { return make(upto(std::variant_size_v<message>)); }

  record rec() {
    record r{u64(), str(), u64(), str(), u64(), i64(), {}, str(), bin()};
    const std::size_t hops = upto(4);
    for (std::size_t i = 0; i < hops; ++i)
      r.path.push_back(str());
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
  std::string str() { return bytes_of(upto(40)); }
  std::string bin() { return bytes_of(upto(8) == 0 ? upto(5000) : upto(64)); }
  std::size_t upto(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
  std::mt19937_64& rng() { return rng_; }

private:
  std::string bytes_of(std::size_t n) {
    std::string s(n, '\0');
    for (char& c : s)
      c = static_cast<char>(rng_());
    return s;
  }
  std::mt19937_64 rng_;
};

} // namespace tandem::protocol::samples
