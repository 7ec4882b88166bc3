#include "protocol/digest_rules.hpp"

#include "protocol/limits.hpp"

namespace tandem::protocol::digest_rules {

std::string check_request(std::string_view origin, std::uint64_t from, std::uint64_t to, std::uint64_t buckets) {
  if (origin.empty() || origin.size() > limits::max_name_bytes)
    return "origin must be 1.." + std::to_string(limits::max_name_bytes) + " bytes, got " + std::to_string(origin.size());
  if (from == 0)
    return "from must be >= 1 (origin seqs start at 1)";
  if (to < from)
    return "to (" + std::to_string(to) + ") is below from (" + std::to_string(from) + ")";
  if (buckets == 0 || buckets > max_buckets)
    return "buckets must be 1.." + std::to_string(max_buckets) + ", got " + std::to_string(buckets);
  return {};
}

std::uint64_t bucket_width(std::uint64_t from, std::uint64_t to, std::uint64_t buckets) noexcept {
  // from >= 1, so the span to - from + 1 fits in 64 bits.
  const std::uint64_t span = to - from + 1;
  return span / buckets + (span % buckets != 0 ? 1 : 0);
}

std::size_t bucket_count(std::uint64_t from, std::uint64_t to, std::uint64_t buckets) noexcept {
  const std::uint64_t span = to - from + 1;
  const std::uint64_t width = bucket_width(from, to, buckets);
  return static_cast<std::size_t>(span / width + (span % width != 0 ? 1 : 0));
}

std::uint64_t width_of(std::uint64_t from, std::uint64_t to, std::uint64_t buckets, std::size_t i) noexcept {
  const std::uint64_t width = bucket_width(from, to, buckets);
  const std::uint64_t first = from + width * i;
  return to - first < width - 1 ? to - first + 1 : width;
}

} // namespace tandem::protocol::digest_rules
