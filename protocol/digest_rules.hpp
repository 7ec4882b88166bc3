// The rules of an anti-entropy digest's request and bucket geometry (issue 17, part 7), shared
// by the 1.5 frame decoder (codec.cpp) and the digest logic (actors/logic/anti_entropy.hpp), so
// a peer's digest frame and the admin endpoint's JSON are checked by the same code.
//
// Geometry: the closed origin_seq range [from, to] cut into buckets of width
// ceil((to - from + 1) / buckets); the last bucket may be narrower, and there may be fewer
// buckets than asked (from 1 to 4 in 3 buckets: width 2, buckets [1,2] [3,4]).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tandem::protocol::digest_rules {

inline constexpr std::size_t max_buckets = 1024;

// Empty when well formed (origin 1..limits::max_name_bytes bytes, 1 <= from <= to,
// 1 <= buckets <= max_buckets); otherwise what is wrong, naming the field.
std::string check_request(std::string_view origin, std::uint64_t from, std::uint64_t to, std::uint64_t buckets);

// For a request check_request() accepted: the bucket width (>= 1), the number of buckets, and
// the width of bucket i (< bucket_count).
std::uint64_t bucket_width(std::uint64_t from, std::uint64_t to, std::uint64_t buckets) noexcept;
std::size_t bucket_count(std::uint64_t from, std::uint64_t to, std::uint64_t buckets) noexcept;
std::uint64_t width_of(std::uint64_t from, std::uint64_t to, std::uint64_t buckets, std::size_t i) noexcept;

} // namespace tandem::protocol::digest_rules
