// Link compression (protocol 1.7, docs/protocol.md "Compressed record batches (1.7)"): the
// algorithms, their level ranges, what a hello offers, the one negotiation rule, and the codec of
// the compressed_batch frame. Pure functions over bytes: no CAF, sockets, threads or clocks.
//
// Only the bytes on the wire change. A compressed_batch frame carries a whole record_batch frame
// minus its 4-byte length field (type byte, count, records: exactly `length` bytes of the plain
// frame), compressed. The receiver restores the plain frame and then runs every check a plain
// record_batch gets (decode_batch): compression adds no path around them.
//
// Decompression is bounded twice: the frame declares the uncompressed size, which must be within
// [1 + 4, max_frame_bytes] (checked at decode, before any decompression), and the decompressor
// writes into a buffer of exactly that size, so a stream that would expand further (a bomb, or a
// lying size) fails instead of growing; a stream that ends short of it fails too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/messages.hpp"
#include "protocol/result.hpp"

namespace tandem::protocol {

// compression_algorithm (wire values) is in messages.hpp, with the compressed_batch frame.

std::string_view to_string(compression_algorithm a) noexcept;
// "none", "lz4", "zstd"; nullopt for anything else.
std::optional<compression_algorithm> compression_from_string(std::string_view text) noexcept;

// The levels an algorithm accepts (config destinations[i].compression_level) and its default.
//   lz4:  1..12; 1-2 the fast compressor (LZ4_compress_default), 3..12 LZ4HC at that level
//   zstd: 1..19 (zstd's ordinary levels; the "ultra" levels 20-22 need far more memory)
//   none: 0..0
struct compression_levels {
  int min = 0, max = 0, fallback = 0;
};
compression_levels levels_of(compression_algorithm a) noexcept;

// A hello's offer (protocol 1.7): bit (1 << algorithm) set for each algorithm the sender can
// decompress. `none` needs no bit; unknown bits (a newer peer's algorithms) are ignored.
using compression_offer = std::uint8_t;
constexpr compression_offer offer_bit(compression_algorithm a) noexcept {
  return static_cast<compression_offer>(1u << static_cast<unsigned>(a));
}
// What this build can decompress: lz4 and zstd.
inline constexpr compression_offer supported_decompression =
  offer_bit(compression_algorithm::lz4) | offer_bit(compression_algorithm::zstd);
// The first minor version whose hello carries an offer.
inline constexpr std::uint16_t compression_minor = 7;

// What a link sends with on one connection: the configured algorithm when the peer's hello
// offered it, otherwise none with the reason (logged once per connection by the link).
struct compression_choice {
  compression_algorithm used = compression_algorithm::none;
  std::string fallback_reason; // empty when `used` is what was configured
};
compression_choice negotiate_compression(compression_algorithm configured, std::uint16_t peer_minor,
                                         compression_offer peer_offer);

// The compressed_batch frame's fixed part: length, type, algorithm, uncompressed_bytes, data length.
inline constexpr std::size_t compressed_batch_overhead = frame_header_bytes + 1 + 1 + 4 + 4;
// Smallest uncompressed content: a record_batch's type byte and count.
inline constexpr std::size_t min_uncompressed_batch_bytes = 1 + 4;

// Compresses a whole plain record_batch frame (header included, as fanout_batch::flatten or
// batch_encoder produce) into a compressed_batch frame. errc::bad_value for algorithm none or a
// level outside levels_of(); errc::frame_too_large when the result exceeds max_frame_bytes (the
// caller then sends the plain frame). The caller may also send the plain frame when the result
// is not smaller.
result<std::string> compress_batch(std::string_view plain_frame, compression_algorithm a, int level,
                                   std::size_t max_frame_bytes = default_max_frame_bytes);

// Restores the plain record_batch frame (header included) of a decoded compressed_batch. The
// algorithm must be one of `accepted` (what this side offered) and the stream must expand to
// exactly uncompressed_bytes <= max_frame_bytes; otherwise errc::bad_value naming why. The result
// is not yet checked as a record_batch: decode_batch() does that, as for any plain frame.
result<std::string> decompress_batch(const compressed_batch& frame, compression_offer accepted,
                                     std::size_t max_frame_bytes = default_max_frame_bytes);

} // namespace tandem::protocol
