#include "protocol/compression.hpp"

#include <lz4.h>
#include <lz4hc.h>
#include <zstd.h>

#include "protocol/codec.hpp"
#include "protocol/frame.hpp"
#include "protocol/wire.hpp"

namespace tandem::protocol {
namespace {

constexpr int lz4_hc_min_level = 3; // LZ4HC_CLEVEL_MIN: below it, the fast compressor

result<std::string> compress_lz4(std::string_view in, int level) {
  std::string out(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(in.size()))), '\0');
  const int n = level < lz4_hc_min_level
                  ? LZ4_compress_default(in.data(), out.data(), static_cast<int>(in.size()), static_cast<int>(out.size()))
                  : LZ4_compress_HC(in.data(), out.data(), static_cast<int>(in.size()), static_cast<int>(out.size()),
                                    level);
  if (n <= 0)
    return protocol_error{errc::bad_value, "compressed_batch: lz4 compression failed"};
  out.resize(static_cast<std::size_t>(n));
  return out;
}

result<std::string> compress_zstd(std::string_view in, int level) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  const std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
  if (ZSTD_isError(n))
    return protocol_error{errc::bad_value, std::string{"compressed_batch: zstd compression failed: "} +
                                             ZSTD_getErrorName(n)};
  out.resize(n);
  return out;
}

// Both decompressors write into dst[0, cap) (cap = the declared size) and never past it.
std::optional<std::string> decompress_lz4(std::string_view in, char* dst, std::size_t cap) {
  const int n = LZ4_decompress_safe(in.data(), dst, static_cast<int>(in.size()), static_cast<int>(cap));
  if (n < 0)
    return "lz4 stream is corrupt or expands past uncompressed_bytes " + std::to_string(cap);
  if (static_cast<std::size_t>(n) != cap)
    return "lz4 stream expands to " + std::to_string(n) + " bytes, not uncompressed_bytes " + std::to_string(cap);
  return std::nullopt;
}

std::optional<std::string> decompress_zstd(std::string_view in, char* dst, std::size_t cap) {
  struct dctx {
    ZSTD_DCtx* p = ZSTD_createDCtx();
    ~dctx() { ZSTD_freeDCtx(p); }
  };
  thread_local dctx ctx; // one per thread (decompression runs on the node's I/O thread)
  const std::size_t n = ZSTD_decompressDCtx(ctx.p, dst, cap, in.data(), in.size());
  if (ZSTD_isError(n))
    return std::string{"zstd stream is corrupt or expands past uncompressed_bytes "} + std::to_string(cap) + ": " +
           ZSTD_getErrorName(n);
  if (n != cap)
    return "zstd stream expands to " + std::to_string(n) + " bytes, not uncompressed_bytes " + std::to_string(cap);
  return std::nullopt;
}

} // namespace

std::string_view to_string(compression_algorithm a) noexcept {
  switch (a) {
    case compression_algorithm::none: return "none";
    case compression_algorithm::lz4: return "lz4";
    case compression_algorithm::zstd: return "zstd";
  }
  return "unknown";
}

std::optional<compression_algorithm> compression_from_string(std::string_view text) noexcept {
  for (auto a : {compression_algorithm::none, compression_algorithm::lz4, compression_algorithm::zstd})
    if (text == to_string(a))
      return a;
  return std::nullopt;
}

compression_levels levels_of(compression_algorithm a) noexcept {
  switch (a) {
    case compression_algorithm::none: return {0, 0, 0};
    case compression_algorithm::lz4: return {1, LZ4HC_CLEVEL_MAX, 1};
    case compression_algorithm::zstd: return {1, 19, 3};
  }
  return {};
}

compression_choice negotiate_compression(compression_algorithm configured, std::uint16_t peer_minor,
                                         compression_offer peer_offer) {
  if (configured == compression_algorithm::none)
    return {};
  const std::string name{to_string(configured)};
  if (peer_minor < compression_minor)
    return {compression_algorithm::none, "the peer speaks protocol 1." + std::to_string(peer_minor) +
                                           " (compression needs 1." + std::to_string(compression_minor) + ")"};
  if ((peer_offer & offer_bit(configured)) == 0)
    return {compression_algorithm::none, "the peer's hello does not offer " + name};
  return {configured, {}};
}

result<std::string> compress_batch(std::string_view plain_frame, compression_algorithm a, int level,
                                   std::size_t max_frame_bytes) {
  const auto levels = levels_of(a);
  if (a == compression_algorithm::none || level < levels.min || level > levels.max)
    return protocol_error{errc::bad_value, "compressed_batch: " + std::string{to_string(a)} + " level " +
                                             std::to_string(level) + " is not a compression setting"};
  if (plain_frame.size() < frame_header_bytes + min_uncompressed_batch_bytes)
    return protocol_error{errc::truncated, "compressed_batch: the plain frame is shorter than a record_batch"};
  const std::string_view content = plain_frame.substr(frame_header_bytes);
  auto data = a == compression_algorithm::lz4 ? compress_lz4(content, level) : compress_zstd(content, level);
  if (!data)
    return data.error();
  compressed_batch frame{a, static_cast<std::uint32_t>(content.size()), std::move(data.value())};
  std::string out;
  out.reserve(compressed_batch_overhead + frame.data.size());
  if (auto n = encode(frame, out, max_frame_bytes); !n)
    return n.error();
  return out;
}

result<std::string> decompress_batch(const compressed_batch& frame, compression_offer accepted,
                                     std::size_t max_frame_bytes) {
  const std::string name{to_string(frame.algorithm)};
  if (frame.algorithm == compression_algorithm::none || (accepted & offer_bit(frame.algorithm)) == 0)
    return protocol_error{errc::bad_value, "compressed_batch: algorithm " + name + " was not offered by this node"};
  if (frame.uncompressed_bytes < min_uncompressed_batch_bytes || frame.uncompressed_bytes > max_frame_bytes)
    return protocol_error{errc::frame_too_large, "compressed_batch: uncompressed_bytes " +
                                                   std::to_string(frame.uncompressed_bytes) + " outside 5.." +
                                                   std::to_string(max_frame_bytes) + " (limits.max_frame_bytes)"};
  // The plain frame: its length field, then exactly uncompressed_bytes decompressed into place.
  std::string plain(frame_header_bytes + frame.uncompressed_bytes, '\0');
  char* content = plain.data() + frame_header_bytes;
  auto problem = frame.algorithm == compression_algorithm::lz4
                   ? decompress_lz4(frame.data, content, frame.uncompressed_bytes)
                   : decompress_zstd(frame.data, content, frame.uncompressed_bytes);
  if (problem)
    return protocol_error{errc::bad_value, "compressed_batch: " + *problem};
  wire::store_le(plain.data(), frame.uncompressed_bytes);
  return plain;
}

} // namespace tandem::protocol
