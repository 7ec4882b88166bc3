// protocol/compression.hpp: the codec of compressed_batch frames (round trip through every check
// a plain batch gets, bombs, corrupt streams, the size limit at the limit and one past it), the
// level ranges and the negotiation rule of protocol 1.7.
#include <doctest/doctest.h>

#include <lz4.h>
#include <zstd.h>

#include "protocol/batch.hpp"
#include "protocol/codec.hpp"
#include "protocol/compression.hpp"
#include "protocol/fields.hpp"
#include "message_samples.hpp"

using namespace tandem::protocol;
namespace s = tandem::protocol::samples;

namespace {

constexpr auto lz4 = compression_algorithm::lz4;
constexpr auto zstd = compression_algorithm::zstd;

// A plain record_batch frame of `n` JSON-like records (compressible).
std::string plain_batch(int n) {
  record_batch b;
  for (int i = 0; i < n; ++i) {
    record r;
    r.seq = static_cast<std::uint64_t>(i + 1);
    r.origin_instance = "A";
    r.origin_seq = r.seq;
    r.topic = "orders.eu";
    r.payload = R"({"order_id":)" + std::to_string(1000 + i) + R"(,"symbol":"ACME","price":101.25,"qty":)" +
                std::to_string(i % 17) + "}";
    b.records.push_back(std::move(r));
  }
  std::string out;
  REQUIRE(encode(b, out).ok());
  return out;
}

compressed_batch decoded(const std::string& frame, std::size_t max = default_max_frame_bytes) {
  auto d = decode(frame, max);
  REQUIRE(d.ok());
  return std::get<compressed_batch>(d.value());
}

// A compressed_batch frame carrying `content` as the algorithm's stream and claiming `size`.
std::string forged(compression_algorithm a, std::uint32_t size, std::string data) {
  std::string out;
  REQUIRE(encode(compressed_batch{a, size, std::move(data)}, out).ok());
  return out;
}

std::string zstd_of(const std::string& in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 1));
  return out;
}

std::string lz4_of(const std::string& in) {
  std::string out(static_cast<std::size_t>(LZ4_compressBound(static_cast<int>(in.size()))), '\0');
  out.resize(static_cast<std::size_t>(
    LZ4_compress_default(in.data(), out.data(), static_cast<int>(in.size()), static_cast<int>(out.size()))));
  return out;
}

} // namespace

TEST_CASE("compressed_batch round trip: lz4 and zstd at every level restore the plain frame exactly") {
  const std::string plain = plain_batch(200);
  for (auto a : {lz4, zstd}) {
    for (int level = levels_of(a).min; level <= levels_of(a).max; ++level) {
      CAPTURE(to_string(a));
      CAPTURE(level);
      auto c = compress_batch(plain, a, level);
      REQUIRE(c.ok());
      CHECK(c.value().size() < plain.size() / 3); // JSON-like records compress well
      auto frame = decoded(c.value());
      CHECK(frame.algorithm == a);
      CHECK(frame.uncompressed_bytes == plain.size() - 4);
      auto back = decompress_batch(frame, supported_decompression);
      REQUIRE(back.ok());
      CHECK(back.value() == plain);
      // ... and the restored frame passes the plain batch's own checks.
      auto batch = decode_batch(back.value());
      REQUIRE(batch.ok());
      CHECK(batch.value().size() == 200);
    }
  }
}

TEST_CASE("compress_batch refuses algorithm none and levels outside the algorithm's range") {
  const std::string plain = plain_batch(3);
  CHECK(compress_batch(plain, compression_algorithm::none, 0).code() == errc::bad_value);
  CHECK(compress_batch(plain, lz4, 0).code() == errc::bad_value);
  CHECK(compress_batch(plain, lz4, 13).code() == errc::bad_value);
  CHECK(compress_batch(plain, zstd, 0).code() == errc::bad_value);
  CHECK(compress_batch(plain, zstd, 20).code() == errc::bad_value);
  CHECK(compress_batch(plain, lz4, 12).ok());
  CHECK(compress_batch(plain, zstd, 19).ok());
}

TEST_CASE("compressed_batch decode: uncompressed_bytes at max_frame_bytes is accepted, one more is frame_too_large") {
  const std::size_t max = 4096;
  const std::string at_limit = forged(zstd, max, "x");
  CHECK(decode(at_limit, max).ok());
  auto over = decode(forged(zstd, max + 1, "x"), max);
  REQUIRE_FALSE(over.ok());
  CHECK(over.code() == errc::frame_too_large);
  CHECK(over.error().message == "compressed_batch: uncompressed_bytes: 4097 outside 5..4096 (limits.max_frame_bytes)");
  // Below a record_batch's type byte and count, and algorithm none, are bad too.
  CHECK(decode(forged(zstd, 4, "x"), max).code() == errc::frame_too_large);
  CHECK(decode(forged(compression_algorithm::none, 100, "x"), max).code() == errc::bad_value);
  CHECK(decode(forged(static_cast<compression_algorithm>(3), 100, "x"), max).code() == errc::bad_value);
}

TEST_CASE("a plain frame of exactly max_frame_bytes decompresses; the decompressor is bounded by the limit") {
  const std::size_t max = 8192;
  // A record_batch whose length field is exactly max: one record, payload padded to fit.
  record r;
  r.origin_instance = "A";
  r.payload.assign(max - 1 - 4 - fields::min_record_bytes - 1, 'z'); // "A" is one byte of name
  std::string plain;
  REQUIRE(encode(record_batch{{r}}, plain, max).ok());
  REQUIRE(plain.size() == 4 + max);
  for (auto a : {lz4, zstd}) {
    CAPTURE(to_string(a));
    auto c = compress_batch(plain, a, levels_of(a).fallback, max);
    REQUIRE(c.ok());
    auto back = decompress_batch(decoded(c.value(), max), supported_decompression, max);
    REQUIRE(back.ok());
    CHECK(back.value() == plain);
    // The same frame with a limit one byte lower: refused before decompressing.
    auto f = decoded(c.value(), max);
    auto refused = decompress_batch(f, supported_decompression, max - 1);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.code() == errc::frame_too_large);
  }
}

TEST_CASE("a decompression bomb is refused: the stream expands past uncompressed_bytes") {
  // 16 MiB of zeros compresses to a few KiB; the frame claims 64 KiB.
  const std::string zeros(16u << 20, '\0');
  for (auto a : {lz4, zstd}) {
    CAPTURE(to_string(a));
    const std::string stream = a == lz4 ? lz4_of(zeros) : zstd_of(zeros);
    CHECK(stream.size() < 100 * 1024);
    auto frame = decoded(forged(a, 64 * 1024, stream));
    auto d = decompress_batch(frame, supported_decompression);
    REQUIRE_FALSE(d.ok());
    CHECK(d.code() == errc::bad_value);
    CHECK(d.error().message.find("expands past uncompressed_bytes 65536") != std::string::npos);
  }
}

TEST_CASE("a stream shorter than uncompressed_bytes is refused (a lying size)") {
  const std::string plain = plain_batch(10);
  const std::string content = plain.substr(4);
  for (auto a : {lz4, zstd}) {
    CAPTURE(to_string(a));
    const std::string stream = a == lz4 ? lz4_of(content) : zstd_of(content);
    auto d = decompress_batch(decoded(forged(a, static_cast<std::uint32_t>(content.size() + 1), stream)),
                              supported_decompression);
    REQUIRE_FALSE(d.ok());
    CHECK(d.code() == errc::bad_value);
  }
}

TEST_CASE("a corrupt stream is refused, whatever byte is flipped; nothing reads or writes out of bounds") {
  const std::string plain = plain_batch(50);
  for (auto a : {lz4, zstd}) {
    CAPTURE(to_string(a));
    auto c = compress_batch(plain, a, levels_of(a).fallback);
    REQUIRE(c.ok());
    const auto good = decoded(c.value());
    int refused = 0;
    for (std::size_t at = 0; at < good.data.size(); ++at) {
      auto bad = good;
      bad.data[at] = static_cast<char>(bad.data[at] ^ 0x5a);
      auto d = decompress_batch(bad, supported_decompression);
      if (!d.ok()) {
        CHECK(d.code() == errc::bad_value);
        ++refused;
      } else {
        // lz4 has no checksum: a flipped literal can decompress to other bytes of the same size,
        // which decode_batch then judges like any plain frame.
        CHECK(d.value().size() == plain.size());
      }
    }
    CHECK(refused > 0);
    // Garbage that is no stream at all.
    auto junk = good;
    junk.data = std::string(64, '\x7f');
    CHECK_FALSE(decompress_batch(junk, supported_decompression).ok());
  }
}

TEST_CASE("decompress_batch refuses an algorithm this node did not offer") {
  auto c = compress_batch(plain_batch(5), zstd, 3);
  REQUIRE(c.ok());
  auto d = decompress_batch(decoded(c.value()), offer_bit(lz4));
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message == "compressed_batch: algorithm zstd was not offered by this node");
}

TEST_CASE("negotiation: the configured algorithm only when the peer's 1.7 hello offers it") {
  struct row {
    compression_algorithm configured;
    std::uint16_t peer_minor;
    compression_offer offer;
    compression_algorithm used;
    const char* reason;
  };
  const row rows[] = {
    {compression_algorithm::none, 7, supported_decompression, compression_algorithm::none, ""},
    {zstd, 7, supported_decompression, zstd, ""},
    {lz4, 7, supported_decompression, lz4, ""},
    {zstd, 7, offer_bit(lz4), compression_algorithm::none, "the peer's hello does not offer zstd"},
    {lz4, 7, 0, compression_algorithm::none, "the peer's hello does not offer lz4"},
    {zstd, 6, supported_decompression, compression_algorithm::none,
     "the peer speaks protocol 1.6 (compression needs 1.7)"},
    {lz4, 5, 0, compression_algorithm::none, "the peer speaks protocol 1.5 (compression needs 1.7)"},
    {zstd, 8, 0xff, zstd, ""}, // a newer peer's unknown bits are ignored
  };
  for (const auto& r : rows) {
    CAPTURE(to_string(r.configured));
    CAPTURE(r.peer_minor);
    auto c = negotiate_compression(r.configured, r.peer_minor, r.offer);
    CHECK(c.used == r.used);
    CHECK(c.fallback_reason == r.reason);
  }
}

TEST_CASE("hello carries the decompress offer from 1.7 on; an older hello offers nothing") {
  hello h{1, 7, "A", "g", 0, "", 1, std::string(16, 'i'), supported_decompression};
  std::string out;
  REQUIRE(encode(h, out).ok());
  auto d = decode(out);
  REQUIRE(d.ok());
  CHECK(std::get<hello>(d.value()).decompress == supported_decompression);
  // A 1.5 hello ends after instance_id: no offer is written or read.
  hello old = h;
  old.protocol_minor = 5;
  std::string old_out;
  REQUIRE(encode(old, old_out).ok());
  CHECK(old_out.size() == out.size() - 1);
  auto od = decode(old_out);
  REQUIRE(od.ok());
  CHECK(std::get<hello>(od.value()).decompress == 0);
  // A 1.7 hello with an instance_id carries the offer: one cut off before it is malformed (one
  // encoding per hello).
  std::string cut = out.substr(0, out.size() - 1);
  cut[0] = static_cast<char>(cut[0] - 1);
  CHECK(decode(cut).code() == errc::field_overrun);
  // Without an instance_id there is nowhere to put the offer: it is not written.
  hello bare = h;
  bare.instance_id.clear();
  std::string bare_out;
  REQUIRE(encode(bare, bare_out).ok());
  auto bd = decode(bare_out);
  REQUIRE(bd.ok());
  CHECK(std::get<hello>(bd.value()).decompress == 0);
}

TEST_CASE("algorithm names and level ranges") {
  CHECK(compression_from_string("zstd") == zstd);
  CHECK(compression_from_string("lz4") == lz4);
  CHECK(compression_from_string("none") == compression_algorithm::none);
  CHECK_FALSE(compression_from_string("gzip").has_value());
  CHECK(levels_of(lz4).min == 1);
  CHECK(levels_of(lz4).max == 12);
  CHECK(levels_of(zstd).max == 19);
  CHECK(levels_of(zstd).fallback == 3);
}
