#include <doctest/doctest.h>

#include <limits>
#include <random>

#include "journal/record_codec.hpp"
#include "journal/record_format.hpp"

using namespace tandem::journal;
namespace f = tandem::journal::format;

namespace {

record min_record() {
  record r;
  r.seq = 1;
  r.origin = "a";
  return r;
}

record max_record() {
  record r;
  r.seq = std::numeric_limits<std::uint64_t>::max();
  r.origin.assign(f::max_name_bytes, 'o');
  r.origin_seq = std::numeric_limits<std::uint64_t>::max();
  r.publisher.assign(f::max_name_bytes, 'p');
  r.publisher_seq = std::numeric_limits<std::uint64_t>::max();
  r.path.assign(f::max_path_entries, std::string(f::max_name_bytes, 'x'));
  r.timestamp_ns = std::numeric_limits<std::int64_t>::min();
  r.topic.assign(f::max_topic_bytes, 't');
  r.payload.assign(f::max_payload_bytes, '\xff');
  return r;
}

record random_record(std::mt19937_64& rng) {
  auto str = [&](std::size_t max, std::size_t min = 0) {
    std::string s(min + rng() % (max - min + 1), '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  record r;
  r.seq = rng();
  r.origin = str(20, 1);
  r.origin_seq = rng();
  r.publisher = str(20);
  r.publisher_seq = rng();
  for (std::size_t i = rng() % 5; i > 0; --i) r.path.push_back(str(10, 1));
  r.timestamp_ns = static_cast<std::int64_t>(rng());
  r.topic = str(40);
  r.payload = str(3000);
  return r;
}

void round_trip(const record& r) {
  REQUIRE(validate_record(r).ok());
  std::string buf;
  encode_record(r, buf);
  REQUIRE(buf.size() == encoded_size(r));
  const auto c = check_record(buf);
  REQUIRE(c.outcome == check_outcome::ok);
  REQUIRE(c.length == buf.size());
  CHECK(decode_record(buf) == r);
  CHECK(peek_seq(buf) == r.seq);
  CHECK(peek_origin(buf) == r.origin);
  CHECK(peek_origin_seq(buf) == r.origin_seq);
}

} // namespace

TEST_CASE("codec round trips the minimum record") { round_trip(min_record()); }

TEST_CASE("codec round trips the maximum record at every documented limit") {
  const auto r = max_record();
  CHECK(encoded_size(r) == f::max_record_bytes);
  round_trip(r);
}

TEST_CASE("codec round trips random records") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) round_trip(random_record(rng));
}

TEST_CASE("codec rejects oversize fields at validation") {
  auto big = [](auto mutate) {
    record r = min_record();
    mutate(r);
    return validate_record(r).code();
  };
  CHECK(big([](record& r) { r.origin.assign(256, 'o'); }) == errc::record_too_large);
  CHECK(big([](record& r) { r.publisher.assign(256, 'p'); }) == errc::record_too_large);
  CHECK(big([](record& r) { r.path.assign(33, "n"); }) == errc::record_too_large);
  CHECK(big([](record& r) { r.path = {std::string(256, 'n')}; }) == errc::record_too_large);
  CHECK(big([](record& r) { r.topic.assign(65536, 't'); }) == errc::record_too_large);
  CHECK(big([](record& r) { r.payload.assign(f::max_payload_bytes + 1, 'x'); }) == errc::record_too_large);
  CHECK(big([](record& r) { r.origin.clear(); }) == errc::invalid_argument);
  CHECK(big([](record& r) { r.path = {""}; }) == errc::invalid_argument);
}

TEST_CASE("codec reports every truncation of a record as incomplete") {
  std::mt19937_64 rng(1);
  auto r = random_record(rng);
  r.payload.resize(100);
  std::string buf;
  encode_record(r, buf);
  for (std::size_t n = 0; n < buf.size(); ++n) {
    const auto c = check_record(std::string_view(buf).substr(0, n));
    REQUIRE_MESSAGE(c.outcome == check_outcome::incomplete, "cut at " << n);
  }
}

TEST_CASE("codec detects every single flipped byte") {
  std::mt19937_64 rng(2);
  auto r = random_record(rng);
  r.payload.resize(64);
  std::string buf;
  encode_record(r, buf);
  for (std::size_t i = 0; i < buf.size(); ++i) {
    std::string bad = buf;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    const auto c = check_record(bad);
    // A flipped length byte can also make the record look longer than the buffer.
    REQUIRE_MESSAGE(c.outcome != check_outcome::ok, "flipped byte " << i);
  }
}

TEST_CASE("codec treats zero fill as invalid, not as a record") {
  const std::string zeros(f::header_bytes * 2, '\0');
  const auto c = check_record(zeros);
  CHECK(c.outcome == check_outcome::invalid);
}

TEST_CASE("codec encodes the documented little-endian layout") {
  record r;
  r.seq = 0x0102030405060708ull;
  r.origin = "n1";
  r.origin_seq = 7;
  r.publisher = "p";
  r.publisher_seq = 9;
  r.path = {"n1"};
  r.timestamp_ns = 1;
  r.topic = "t";
  r.payload = "hi";
  std::string buf;
  encode_record(r, buf);
  CHECK(buf.size() == f::header_bytes + 2 + 1 + 3 + 1 + 2);
  CHECK(static_cast<unsigned char>(buf[f::length_offset]) == buf.size());
  CHECK(buf[f::type_offset] == 1);
  CHECK(buf[f::origin_len_offset] == 2);
  CHECK(static_cast<unsigned char>(buf[f::seq_offset]) == 0x08);
  CHECK(static_cast<unsigned char>(buf[f::seq_offset + 7]) == 0x01);
  CHECK(buf.substr(f::header_bytes, 2) == "n1");
}

TEST_CASE("codec produces the exact bytes of the worked example in docs/journal-format.md") {
  record r;
  r.seq = 1;
  r.origin = "n1";
  r.origin_seq = 1;
  r.publisher = "p";
  r.publisher_seq = 7;
  r.path = {"n1"};
  r.timestamp_ns = 1'700'000'000'000'000'000LL;
  r.topic = "t";
  r.payload = "hi";
  std::string buf;
  encode_record(r, buf);
  const unsigned char expect[] = {
      0x7b, 0xcf, 0x67, 0x90, 0x3d, 0x00, 0x00, 0x00, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00,
      0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x36, 0xfe, 0x9c, 0x97, 0x17,
      0x02, 0x00, 0x00, 0x00, 0x6e, 0x31, 0x70, 0x02, 0x6e, 0x31, 0x74, 0x68, 0x69};
  CHECK(buf == std::string(reinterpret_cast<const char*>(expect), sizeof expect));
}
