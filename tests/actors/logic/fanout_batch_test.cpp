// Fan-out batches (actors/logic/fanout_batch.hpp): each record encoded once per journal chunk and
// shared by every link; a link's batch is pieces of those encodings and decodes as the records
// it selected, with this node appended to each path.
#include <random>

#include <doctest/doctest.h>

#include "actors/logic/fanout_batch.hpp"
#include "actors/logic/link_window.hpp"
#include "journal/record_codec.hpp"
#include "protocol/codec.hpp"
#include "protocol/compression.hpp"

using namespace tandem;
using tandem::logic::fanout_batch;
using tandem::logic::wire_chunk;

namespace {

std::shared_ptr<journal::record_chunk> make_chunk(std::uint64_t first_seq, int n, std::size_t payload = 100) {
  auto c = std::make_shared<journal::record_chunk>();
  c->first_seq = first_seq;
  for (int i = 0; i < n; ++i) {
    journal::record r;
    r.origin = i % 2 == 0 ? "A" : "B";
    r.origin_seq = 10 + static_cast<std::uint64_t>(i);
    r.publisher = "p";
    r.publisher_seq = 1 + static_cast<std::uint64_t>(i);
    r.timestamp_ns = 1000 + i;
    r.topic = "t." + std::to_string(i);
    r.payload = std::string(payload, static_cast<char>('a' + i % 26));
    if (r.origin == "B")
      r.path = {"B"};
    c->offsets.push_back(static_cast<std::uint32_t>(c->bytes.size()));
    journal::encode_record(r, first_seq + static_cast<std::uint64_t>(i), r.origin, r.origin_seq, c->bytes);
  }
  return c;
}

std::vector<protocol::record> decode(const std::string& frame) {
  auto b = protocol::decode_batch(frame);
  REQUIRE_MESSAGE(b, b.error().message);
  std::vector<protocol::record> out;
  auto c = b.value().cursor();
  while (const auto* r = c.next())
    out.push_back(protocol::to_record(*r));
  return out;
}

} // namespace

TEST_CASE("wire_chunk::of encodes a chunk once and every later caller shares it") {
  auto chunk = make_chunk(100, 5);
  auto a = wire_chunk::of(*chunk, "X", 1 << 20);
  auto b = wire_chunk::of(*chunk, "X", 1 << 20);
  CHECK(a.get() == b.get());
  REQUIRE(a->records.size() == 5);
  CHECK(a->records[1].origin == "B");
  CHECK(a->records[1].path == std::vector<std::string>{"B"});
  CHECK(a->records[2].topic == "t.2");
  CHECK(a->records[3].origin_seq == 13);
}

TEST_CASE("a fan-out batch of a selection decodes as exactly those records, path extended by the sender") {
  auto chunk = make_chunk(100, 6);
  auto wire = wire_chunk::of(*chunk, "X", 1 << 20);
  fanout_batch batch{1 << 20};
  for (std::size_t i : {0u, 1u, 2u, 4u}) { // 0..2 contiguous: one piece; 4: a second
    REQUIRE(batch.fits(*wire, i));
    batch.add(wire, i);
  }
  CHECK(batch.records() == 4);
  CHECK(batch.pieces().size() == 2);
  const auto frame = batch.flatten();
  CHECK(frame.size() == batch.frame_bytes());
  auto got = decode(frame);
  REQUIRE(got.size() == 4);
  const std::uint64_t seqs[] = {100, 101, 102, 104};
  for (std::size_t k = 0; k < 4; ++k) {
    CAPTURE(k);
    const auto want = journal::decode_record(chunk->record_bytes(seqs[k] - 100));
    CHECK(got[k].seq == seqs[k]);
    CHECK(got[k].origin_instance == want.origin);
    CHECK(got[k].origin_seq == want.origin_seq);
    CHECK(got[k].publisher_id == want.publisher);
    CHECK(got[k].publisher_seq == want.publisher_seq);
    CHECK(got[k].timestamp_ns == want.timestamp_ns);
    CHECK(got[k].topic == want.topic);
    CHECK(got[k].payload == want.payload);
    auto path = want.path;
    path.push_back("X");
    CHECK(got[k].path == path);
  }
}

TEST_CASE("a fan-out batch is byte for byte what batch_encoder builds for the same records") {
  auto chunk = make_chunk(7, 3);
  auto wire = wire_chunk::of(*chunk, "X", 1 << 20);
  fanout_batch batch{1 << 20};
  for (std::size_t i = 0; i < 3; ++i) batch.add(wire, i);
  std::string expected;
  protocol::batch_encoder enc{1 << 20};
  enc.begin(expected);
  for (std::size_t i = 0; i < 3; ++i) {
    auto r = journal::decode_record(chunk->record_bytes(i));
    std::vector<std::string_view> path(r.path.begin(), r.path.end());
    path.push_back("X");
    REQUIRE(enc.add(protocol::record_view{r.seq, r.origin, r.origin_seq, r.publisher, r.publisher_seq, r.timestamp_ns,
                                          path, r.topic, r.payload}));
  }
  REQUIRE(enc.finish());
  CHECK(batch.flatten() == expected);
}

TEST_CASE("a record that would take the frame past max_frame_bytes does not fit; an empty batch takes any") {
  auto chunk = make_chunk(1, 4, 1000);
  auto wire = wire_chunk::of(*chunk, "X", 1 << 20);
  const std::size_t one = wire->records[0].length;
  // Room for two records' bytes after the header's type and count (5 bytes), not three.
  fanout_batch batch{5 + 2 * one + 10};
  CHECK(batch.fits(*wire, 0));
  batch.add(wire, 0);
  CHECK(batch.fits(*wire, 1));
  batch.add(wire, 1);
  CHECK_FALSE(batch.fits(*wire, 2));
  fanout_batch tiny{16};
  CHECK(tiny.fits(*wire, 0)); // empty: always (the record's own size was checked when encoded)
}

TEST_CASE("a record too long for the wire is marked, not encoded, and the rest of its chunk is") {
  auto chunk = make_chunk(1, 3, 100);
  // A frame limit below one record: every record is marked with the error.
  auto wire = wire_chunk::build(*chunk, "X", 64);
  REQUIRE(wire.records.size() == 3);
  for (const auto& e : wire.records) {
    CHECK(e.length == 0);
    CHECK_FALSE(e.error.empty());
  }
  auto ok = wire_chunk::build(*chunk, "X", 1 << 20);
  for (const auto& e : ok.records) CHECK(e.length > 0);
}

TEST_CASE("protocol: batch_header refuses an empty batch and a frame over the limit") {
  CHECK(protocol::batch_header(0, 10).error().code == protocol::errc::empty_batch);
  CHECK(protocol::batch_header(1, 2000, 1024).error().code == protocol::errc::frame_too_large);
  auto h = protocol::batch_header(2, 100, 1024);
  REQUIRE(h);
  CHECK(h.value().size() == protocol::batch_header_bytes);
}

TEST_CASE("each link's in-flight bound is its share of the node-wide total, within [256 KiB, per destination]") {
  using logic::link_in_flight_share;
  CHECK(link_in_flight_share(4u << 20, 32u << 20, 1) == 4u << 20);
  CHECK(link_in_flight_share(4u << 20, 32u << 20, 8) == 4u << 20);
  CHECK(link_in_flight_share(4u << 20, 32u << 20, 64) == 512u << 10);
  CHECK(link_in_flight_share(4u << 20, 32u << 20, 1000) == 256u << 10); // the floor
  CHECK(link_in_flight_share(4u << 20, 32u << 20, 0) == 4u << 20);
}

// Issue 20: a batch is compressed once per (algorithm, level) and shared by every link with the
// same setting, not once per destination.
TEST_CASE("batch_compressor: 3 links with zstd 3 and 1 with lz4 1 compress the same batch twice, not 4 times") {
  using logic::batch_compressor;
  using logic::compression_setting;
  using protocol::compression_algorithm;
  auto chunk = make_chunk(1, 40);
  auto wire = wire_chunk::of(*chunk, "X", 1 << 20);
  // Every link builds its own batch of the same records (as links at the same position do).
  auto link_batch = [&] {
    fanout_batch b{1 << 20};
    for (std::size_t i = 0; i < 40; ++i)
      b.add(wire, i);
    return b;
  };
  const compression_setting zstd3{compression_algorithm::zstd, 3}, lz4{compression_algorithm::lz4, 1};
  const compression_setting settings[] = {zstd3, zstd3, lz4, zstd3};
  auto budget = std::make_shared<logic::memory_budget>(64u << 20);
  int compressions = 0;
  std::vector<std::shared_ptr<const std::string>> frames;
  for (const auto& s : settings) {
    auto b = link_batch();
    auto out = batch_compressor::compress(b, s, 1 << 20, budget);
    CHECK(out.error.empty());
    REQUIRE(out.frame);
    compressions += out.compressed_here ? 1 : 0;
    frames.push_back(out.frame);
    CHECK(out.plain_bytes == b.frame_bytes());
  }
  CHECK(compressions == 2);
  CHECK(frames[0].get() == frames[1].get()); // the zstd links share one compressed frame
  CHECK(frames[0].get() == frames[3].get());
  CHECK(frames[2].get() != frames[0].get());
  // Each decompresses to exactly the plain batch.
  const std::string plain = link_batch().flatten();
  for (const auto& f : frames) {
    auto d = protocol::decode(*f);
    REQUIRE(d);
    auto back = protocol::decompress_batch(std::get<protocol::compressed_batch>(d.value()),
                                           protocol::supported_decompression);
    REQUIRE(back);
    CHECK(back.value() == plain);
  }
  // Another selection is another batch: compressed again.
  fanout_batch other{1 << 20};
  for (std::size_t i = 0; i < 40; i += 2)
    other.add(wire, i);
  CHECK(batch_compressor::compress(other, zstd3, 1 << 20, budget).compressed_here);
}

TEST_CASE("batch_compressor: an incompressible batch is sent plain, decided once for every link") {
  using logic::batch_compressor;
  using protocol::compression_algorithm;
  auto c = std::make_shared<journal::record_chunk>();
  c->first_seq = 1;
  std::mt19937_64 rng{2026};
  for (int i = 0; i < 4; ++i) {
    journal::record r;
    r.origin = "A";
    r.origin_seq = static_cast<std::uint64_t>(i + 1);
    r.topic = "t";
    for (int k = 0; k < 20000; ++k) // random bytes do not compress (lz4 adds more than the headers save)
      r.payload.push_back(static_cast<char>(rng()));
    c->offsets.push_back(static_cast<std::uint32_t>(c->bytes.size()));
    journal::encode_record(r, 1 + static_cast<std::uint64_t>(i), r.origin, r.origin_seq, c->bytes);
  }
  auto wire = wire_chunk::of(*c, "X", 1 << 20);
  auto budget = std::make_shared<logic::memory_budget>(64u << 20);
  int compressions = 0;
  for (int link = 0; link < 3; ++link) {
    fanout_batch b{1 << 20};
    for (std::size_t i = 0; i < 4; ++i)
      b.add(wire, i);
    auto out = batch_compressor::compress(b, {compression_algorithm::lz4, 1}, 1 << 20, budget);
    CHECK_FALSE_MESSAGE(out.frame, out.plain_bytes << " plain, " << (out.frame ? out.frame->size() : 0) << " compressed"); // not smaller: the plain frame goes
    CHECK(out.error.empty());
    compressions += out.compressed_here ? 1 : 0;
  }
  CHECK(compressions == 1);
  CHECK(budget->used() == 0); // no frame cached: nothing charged
}

TEST_CASE("batch_compressor: a cached frame is charged to the node's budget until its chunk goes; no room, no cache") {
  using logic::batch_compressor;
  using logic::compression_setting;
  using protocol::compression_algorithm;
  const compression_setting zstd3{compression_algorithm::zstd, 3};
  auto batch_of = [](const std::shared_ptr<const wire_chunk>& wire) {
    fanout_batch b{1 << 20};
    for (std::size_t i = 0; i < 40; ++i)
      b.add(wire, i);
    return b;
  };
  std::size_t frame_bytes = 0;
  {
    auto budget = std::make_shared<logic::memory_budget>(64u << 20);
    auto chunk = make_chunk(1, 40);
    auto wire = wire_chunk::of(*chunk, "X", 1 << 20); // held by the record chunk too (one per sender)
    auto first = batch_compressor::compress(batch_of(wire), zstd3, 1 << 20, budget);
    REQUIRE(first.frame);
    CHECK(first.cached);
    frame_bytes = first.frame->size();
    CHECK(budget->used() == frame_bytes); // held for the other links
    auto second = batch_compressor::compress(batch_of(wire), zstd3, 1 << 20, budget);
    CHECK_FALSE(second.compressed_here); // taken from the cache: no second charge
    CHECK(budget->used() == frame_bytes);
    first = {};
    second = {};
    wire.reset();
    chunk.reset(); // the chunk goes (the window dropped it, no batch holds it): its cache with it
    CHECK(budget->used() == 0);
  }
  {
    // A budget whose spare half cannot take the frame: every link compresses for itself, nothing held.
    auto small = std::make_shared<logic::memory_budget>(2 * frame_bytes - 2);
    auto chunk = make_chunk(1, 40); // a new chunk: nothing cached on it yet
    auto wire = wire_chunk::of(*chunk, "X", 1 << 20);
    auto a = batch_compressor::compress(batch_of(wire), zstd3, 1 << 20, small);
    REQUIRE(a.frame);
    CHECK_FALSE(a.cached);
    CHECK(small->used() == 0);
    CHECK(batch_compressor::compress(batch_of(wire), zstd3, 1 << 20, small).compressed_here);
    // Exactly half the limit: cached.
    auto fits = std::make_shared<logic::memory_budget>(2 * frame_bytes);
    auto chunk2 = make_chunk(1, 40);
    auto wire2 = wire_chunk::of(*chunk2, "X", 1 << 20);
    CHECK(batch_compressor::compress(batch_of(wire2), zstd3, 1 << 20, fits).cached);
    CHECK(fits->used() == frame_bytes);
  }
}
