#include "protocol/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace tandem::protocol::utf8 {
namespace {

bool in(unsigned char b, unsigned char lo, unsigned char hi) noexcept { return b >= lo && b <= hi; }

// Length of the well-formed sequence starting at p (at most `left` bytes available), 0 if none.
std::size_t sequence_length(const unsigned char* p, std::size_t left) noexcept {
  const unsigned char b0 = p[0];
  if (b0 < 0x80)
    return 1;
  // The second byte's range depends on the first (table 3-7); later bytes are always 80..BF.
  unsigned char lo = 0x80, hi = 0xbf;
  std::size_t n = 0;
  if (in(b0, 0xc2, 0xdf)) {
    n = 2;
  } else if (in(b0, 0xe0, 0xef)) {
    n = 3;
    if (b0 == 0xe0)
      lo = 0xa0; // below: overlong
    else if (b0 == 0xed)
      hi = 0x9f; // above: surrogates
  } else if (in(b0, 0xf0, 0xf4)) {
    n = 4;
    if (b0 == 0xf0)
      lo = 0x90; // below: overlong
    else if (b0 == 0xf4)
      hi = 0x8f; // above: beyond U+10FFFF
  } else {
    return 0; // 80..BF (stray continuation), C0, C1 (overlong), F5..FF
  }
  if (left < n || !in(p[1], lo, hi))
    return 0;
  for (std::size_t i = 2; i < n; ++i)
    if (!in(p[i], 0x80, 0xbf))
      return 0;
  return n;
}

} // namespace

std::optional<std::size_t> first_invalid(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t size = s.size();
  std::size_t i = 0;
  while (i < size) {
    // ASCII fast path, 8 bytes at a time: topics and names are mostly ASCII.
    if (size - i >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const std::size_t n = sequence_length(p + i, size - i);
    if (n == 0)
      return i;
    i += n;
  }
  return std::nullopt;
}

} // namespace tandem::protocol::utf8
