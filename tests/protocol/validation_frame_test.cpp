// The validation frame (protocol 1.4, replication validation on connect): byte layout, and every
// field checked at decode time at its limit and one past it (frames built byte by byte, because
// encode() refuses to produce the bad ones).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "protocol/code_names.hpp"
#include "protocol/codec.hpp"
#include "protocol/limits.hpp"

using namespace tandem::protocol;

namespace {

struct raw {
  std::string b;
  template <class U>
  raw& le(U v) {
    for (std::size_t i = 0; i < sizeof(U); ++i)
      b.push_back(static_cast<char>(static_cast<unsigned char>(v >> (8 * i))));
    return *this;
  }
  raw& u8(std::uint8_t v) { return le(v); }
  raw& u16(std::uint16_t v) { return le(v); }
  raw& str(std::string_view s) {
    u16(static_cast<std::uint16_t>(s.size()));
    b += s;
    return *this;
  }
  std::string frame() const {
    raw f;
    f.le(static_cast<std::uint32_t>(1 + b.size())).u8(static_cast<std::uint8_t>(frame_type::validation));
    return f.b + b;
  }
};

// A validation body with `n` passthrough patterns of `pattern_bytes` bytes each.
std::string frame_with(std::size_t topics_bytes, std::size_t n, std::size_t pattern_bytes) {
  raw r;
  r.u8(1).u8(1).str(std::string(topics_bytes, 't')).u16(static_cast<std::uint16_t>(n));
  for (std::size_t i = 0; i < n; ++i)
    r.str(std::string(pattern_bytes, 'p'));
  return r.frame();
}

std::string error_of(const std::string& frame) {
  auto d = decode(frame);
  return d.ok() ? std::string{"decoded"} : d.error().message;
}

} // namespace

TEST_CASE("validation round-trips and is byte exact") {
  const validation v{true, true, "o.*", {"A"}};
  const std::string expect{"\x0d\x00\x00\x00" // length 13
                           "\x06"             // type validation
                           "\x01"             // has_destination
                           "\x01"             // sync
                           "\x03\x00" "o.*"   // topics
                           "\x01\x00"         // passthrough count 1
                           "\x01\x00" "A",    // "A"
                           17};
  std::string out;
  REQUIRE(encode(v, out).ok());
  CHECK(out == expect);
  auto d = decode(expect);
  REQUIRE(d.ok());
  CHECK(std::get<validation>(d.value()) == v);
  CHECK(frame_type_name(frame_type::validation) == "validation");
  CHECK(known_name(close_code::validation_failed) == "validation_failed");
  CHECK(static_cast<int>(close_code::validation_failed) == 13);
  CHECK(validation_minor == 4);
  CHECK(protocol_minor >= validation_minor);
}

TEST_CASE("validation: topics at the pattern limit decodes, one byte more is refused") {
  CHECK(error_of(frame_with(limits::max_pattern_bytes, 0, 0)) == "decoded");
  CHECK(error_of(frame_with(limits::max_pattern_bytes + 1, 0, 0)).find("validation: topics:") == 0);
  std::string out;
  CHECK_FALSE(encode(validation{true, false, std::string(limits::max_pattern_bytes + 1, 't'), {}}, out).ok());
}

TEST_CASE("validation: 64 passthrough patterns at the limit decode, 65 or a longer pattern are refused") {
  CHECK(error_of(frame_with(2, limits::max_passthrough_patterns, limits::max_pattern_bytes)) == "decoded");
  CHECK(error_of(frame_with(2, limits::max_passthrough_patterns + 1, 1))
          == "validation: passthrough: 65 entries exceed the maximum of 64");
  CHECK(error_of(frame_with(2, 1, limits::max_pattern_bytes + 1)).find("validation: passthrough[0].pattern:") == 0);
  // A count the remaining bytes cannot hold: refused before anything is reserved.
  raw r;
  r.u8(1).u8(0).str("").u16(60);
  CHECK(error_of(r.frame()).find("validation: passthrough: 60 entries cannot fit") == 0);
}

TEST_CASE("validation: invalid UTF-8 in a pattern and flags other than 0/1 are refused") {
  raw bad_text;
  bad_text.u8(1).u8(0).str("\xff").u16(0);
  CHECK(error_of(bad_text.frame()).find("validation: topics:") == 0);
  raw bad_flag;
  bad_flag.u8(2).u8(0).str("").u16(0);
  CHECK(error_of(bad_flag.frame()).find("validation: has_destination:") == 0);
}

TEST_CASE("validation: without a destination, a claimed sync type, filter or passthrough is refused") {
  std::string out;
  REQUIRE(encode(validation{}, out).ok());
  CHECK(error_of(out) == "decoded");
  for (const auto& claim : {validation{false, true, "", {}}, validation{false, false, ".*", {}},
                            validation{false, false, "", {"A"}}}) {
    out.clear();
    REQUIRE(encode(claim, out).ok());
    CHECK(error_of(out) == "validation: has_destination is 0 but sync, topics or passthrough is set");
  }
}

TEST_CASE("validation: trailing bytes are refused") {
  raw r;
  r.u8(0).u8(0).str("").u16(0).u8(0);
  CHECK(error_of(r.frame()).find("validation:") == 0);
}
