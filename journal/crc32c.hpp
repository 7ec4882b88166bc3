// CRC32C (Castagnoli), as used by iSCSI, ext4 and LevelDB. Uses the SSE4.2 crc32 instruction when
// the CPU has it (checked once at run time) and a slice-by-8 table implementation otherwise.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tandem::journal::crc32c {

// Extends `init` (the crc of some prefix; 0 for none) with `n` bytes.
std::uint32_t extend(std::uint32_t init, const void* data, std::size_t n) noexcept;
inline std::uint32_t value(const void* data, std::size_t n) noexcept { return extend(0, data, n); }

// The portable implementation, exposed so tests can compare it against the hardware path.
std::uint32_t extend_portable(std::uint32_t init, const void* data, std::size_t n) noexcept;
bool hardware_available() noexcept;

// A crc stored next to the data it covers is masked (as in LevelDB) so that computing the crc of a
// string that contains embedded crcs does not degenerate.
inline constexpr std::uint32_t mask_delta = 0xa282ead8u;
inline std::uint32_t mask(std::uint32_t crc) noexcept { return ((crc >> 15) | (crc << 17)) + mask_delta; }
inline std::uint32_t unmask(std::uint32_t masked) noexcept {
  const std::uint32_t rot = masked - mask_delta;
  return (rot >> 17) | (rot << 15);
}

} // namespace tandem::journal::crc32c
