// The protocol 1.6 anti-entropy repair frames (protocol/messages.hpp repair_batch, repair_ack):
// round trips, and every decode rule at its limit and one past it.
#include <doctest/doctest.h>

#include "protocol/batch.hpp"
#include "protocol/codec.hpp"
#include "protocol/names.hpp"

using namespace tandem::protocol;

namespace {

record sample(std::string origin, std::uint64_t origin_seq) {
  record r;
  r.seq = origin_seq;
  r.origin_instance = std::move(origin);
  r.origin_seq = origin_seq;
  r.publisher_id = "p";
  r.publisher_seq = origin_seq;
  r.timestamp_ns = 5;
  r.path = {"A"};
  r.topic = "t";
  r.payload = "x";
  return r;
}

std::string encoded(const message& m, std::size_t max = default_max_frame_bytes) {
  std::string out;
  auto r = encode(m, out, max);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  return out;
}

} // namespace

TEST_CASE("repair_batch round-trips with the record_batch body and its own type byte") {
  const repair_batch b{{sample("A", 3), sample("A", 4)}};
  const auto frame = encoded(b);
  CHECK(static_cast<std::uint8_t>(frame[4]) == 0x0A);
  auto d = decode(frame);
  REQUIRE_MESSAGE(d.ok(), d.error().message);
  CHECK(std::get<repair_batch>(d.value()) == b);
  // The same bytes with the record_batch type are a record_batch of the same records.
  std::string as_batch = frame;
  as_batch[4] = static_cast<char>(frame_type::record_batch);
  auto n = decode(as_batch);
  REQUIRE(n.ok());
  CHECK(std::get<record_batch>(n.value()).records == b.records);
  CHECK(frame_type_name(frame_type::repair_batch) == "repair_batch");
  CHECK(frame_type_name(frame_type::repair_ack) == "repair_ack");
  CHECK(protocol_minor >= repair_minor);
}

TEST_CASE("a repair_batch is not taken for a record_batch by the zero-copy decoder") {
  const auto frame = encoded(repair_batch{{sample("A", 1)}});
  CHECK_FALSE(decode_batch(frame).ok());
  CHECK(decode_batch(frame, default_max_frame_bytes, frame_type::repair_batch).ok());
}

TEST_CASE("repair_batch: an empty one cannot be encoded nor decoded") {
  std::string out;
  CHECK_FALSE(encode(repair_batch{}, out).ok());
  const std::string empty{"\x05\x00\x00\x00\x0a\x00\x00\x00\x00", 9};
  CHECK_FALSE(decode(empty).ok());
}

TEST_CASE("repair_batch: origin_instance at the name limit decodes, one byte more is refused") {
  const std::string at_limit(names::max_instance_name_bytes, 'o');
  CHECK(decode(encoded(repair_batch{{sample(at_limit, 1)}})).ok());
  // The encoder refuses what the decoder would; patch a valid frame to one byte more instead.
  auto frame = encoded(repair_batch{{sample(at_limit, 1)}});
  const auto at = frame.find(at_limit);
  REQUIRE(at != std::string::npos);
  frame.insert(at, "o");
  frame[at - 2] = static_cast<char>(at_limit.size() + 1); // the u16 length before the name
  const std::uint32_t len = static_cast<std::uint32_t>(frame.size() - 4);
  for (int i = 0; i < 4; ++i)
    frame[i] = static_cast<char>(len >> (8 * i));
  auto d = decode(frame);
  REQUIRE_FALSE(d.ok());
  CHECK(d.error().message.find("origin_instance") != std::string::npos);
}

TEST_CASE("repair_batch: a frame at max_frame_bytes decodes, one byte over is refused") {
  const auto frame = encoded(repair_batch{{sample("A", 1)}});
  CHECK(decode(frame, frame.size() - 4).ok());
  CHECK_FALSE(decode(frame, frame.size() - 5).ok());
  std::string out;
  CHECK_FALSE(encode(repair_batch{{sample("A", 1)}}, out, frame.size() - 5).ok());
}

TEST_CASE("repair_ack: stored up to records decodes; stored above records or records 0 is refused") {
  struct row {
    std::uint64_t records, stored;
    bool ok;
  };
  for (auto [records, stored, ok] : std::vector<row>{
         {1, 0, true}, {1, 1, true}, {5, 5, true}, {5, 6, false}, {0, 0, false}, {UINT64_MAX, UINT64_MAX, true}}) {
    CAPTURE(records);
    CAPTURE(stored);
    auto d = decode(encoded(repair_ack{records, stored}));
    CHECK(d.ok() == ok);
    if (ok)
      CHECK(std::get<repair_ack>(d.value()) == repair_ack{records, stored});
    else
      CHECK(d.error().message.find("repair_ack") == 0);
  }
}

TEST_CASE("the 1.6 repair frames cut at every byte are never a message") {
  for (const message& m : std::vector<message>{repair_batch{{sample("A", 1), sample("B", 9)}}, repair_ack{2, 1}}) {
    const std::string out = encoded(m);
    for (std::size_t cut = 0; cut < out.size(); ++cut) {
      CAPTURE(cut);
      CHECK_FALSE(decode(std::string_view{out}.substr(0, cut)).ok());
    }
  }
}
