// protocol/utf8.hpp: exactly the well-formed sequences of Unicode table 3-7 pass; overlongs,
// surrogates, code points above U+10FFFF, stray and missing continuation bytes do not.
#include <doctest/doctest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include "protocol/utf8.hpp"

using namespace tandem::protocol;

namespace {

std::string bytes(std::initializer_list<unsigned> list) {
  std::string s;
  for (unsigned b : list)
    s.push_back(static_cast<char>(b));
  return s;
}

// Reference: decode by arithmetic, then apply the rules one by one (independent of the table
// the validator uses). Returns the sequence length at s[0..], 0 if ill-formed.
std::size_t reference_length(const std::string& s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (b0 < 0x80)
    return 1;
  if ((b0 & 0xe0) == 0xc0) {
    n = 2;
    cp = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    n = 3;
    cp = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() < n)
    return 0;
  for (std::size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (b & 0x3f);
  }
  const std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[n])
    return 0; // overlong
  if (cp >= 0xd800 && cp <= 0xdfff)
    return 0; // surrogate
  if (cp > 0x10ffff)
    return 0;
  return n;
}

bool reference_valid(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t n = reference_length(s.substr(i));
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

} // namespace

TEST_CASE("utf8: ASCII, empty and the boundaries of every sequence length are valid") {
  CHECK(utf8::is_valid(""));
  CHECK(utf8::is_valid("orders.eu-west/1 with spaces\t\n"));
  CHECK(utf8::is_valid(std::string(1, '\0')));
  CHECK(utf8::is_valid(bytes({0x7f})));
  CHECK(utf8::is_valid(bytes({0xc2, 0x80})));             // U+0080
  CHECK(utf8::is_valid(bytes({0xdf, 0xbf})));             // U+07FF
  CHECK(utf8::is_valid(bytes({0xe0, 0xa0, 0x80})));       // U+0800
  CHECK(utf8::is_valid(bytes({0xed, 0x9f, 0xbf})));       // U+D7FF, below the surrogates
  CHECK(utf8::is_valid(bytes({0xee, 0x80, 0x80})));       // U+E000, above them
  CHECK(utf8::is_valid(bytes({0xef, 0xbf, 0xbf})));       // U+FFFF
  CHECK(utf8::is_valid(bytes({0xf0, 0x90, 0x80, 0x80}))); // U+10000
  CHECK(utf8::is_valid(bytes({0xf4, 0x8f, 0xbf, 0xbf}))); // U+10FFFF, the last code point
  CHECK(utf8::is_valid("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80"));
}

TEST_CASE("utf8: overlong forms are refused") {
  CHECK(utf8::first_invalid(bytes({0xc0, 0x80})) == 0u); // NUL in two bytes
  CHECK(utf8::first_invalid(bytes({0xc1, 0xbf})) == 0u);
  CHECK(utf8::first_invalid(bytes({0xe0, 0x80, 0x80})) == 0u);
  CHECK(utf8::first_invalid(bytes({0xe0, 0x9f, 0xbf})) == 0u); // U+07FF in three bytes
  CHECK(utf8::first_invalid(bytes({0xf0, 0x80, 0x80, 0x80})) == 0u);
  CHECK(utf8::first_invalid(bytes({0xf0, 0x8f, 0xbf, 0xbf})) == 0u); // U+FFFF in four bytes
  CHECK(utf8::first_invalid("ok" + bytes({0xc0, 0xaf})) == 2u);      // the classic overlong '/'
}

TEST_CASE("utf8: surrogates are refused") {
  CHECK(utf8::first_invalid(bytes({0xed, 0xa0, 0x80})) == 0u); // U+D800
  CHECK(utf8::first_invalid(bytes({0xed, 0xbf, 0xbf})) == 0u); // U+DFFF
  // A CESU-8 style surrogate pair.
  CHECK(utf8::first_invalid(bytes({0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80})) == 0u);
}

TEST_CASE("utf8: code points above U+10FFFF and bytes F5..FF are refused") {
  CHECK(utf8::first_invalid(bytes({0xf4, 0x90, 0x80, 0x80})) == 0u); // U+110000
  for (unsigned b = 0xf5; b <= 0xff; ++b) {
    CAPTURE(b);
    CHECK(utf8::first_invalid(bytes({b, 0x80, 0x80, 0x80})) == 0u);
  }
}

TEST_CASE("utf8: stray, missing and truncated continuation bytes are refused at their offset") {
  CHECK(utf8::first_invalid(bytes({0x80})) == 0u);
  CHECK(utf8::first_invalid("abc" + bytes({0xbf})) == 3u);
  CHECK(utf8::first_invalid(bytes({0xc3})) == 0u);                   // truncated at the end
  CHECK(utf8::first_invalid("abcdefgh" + bytes({0xe2, 0x82})) == 8u); // after the ASCII fast path
  CHECK(utf8::first_invalid(bytes({0xf0, 0x9f, 0x98})) == 0u);
  CHECK(utf8::first_invalid(bytes({0xc3, 0x41})) == 0u);             // continuation missing
  CHECK(utf8::first_invalid(bytes({0xe2, 0x82, 0x41})) == 0u);
  CHECK(utf8::first_invalid("\xc3\xa9\xc3\xa9" + bytes({0xff}) + "abc") == 4u);
}

TEST_CASE("utf8: every 1-, 2- and 3-byte string agrees with a reference decoder") {
  std::string s;
  for (unsigned a = 0; a < 256; ++a) {
    s = bytes({a});
    REQUIRE(utf8::is_valid(s) == reference_valid(s));
    for (unsigned b = 0; b < 256; ++b) {
      s = bytes({a, b});
      REQUIRE(utf8::is_valid(s) == reference_valid(s));
    }
  }
  // Three bytes: every lead byte from C0 up (the rest are covered by the two-byte cases).
  for (unsigned a = 0xc0; a < 256; ++a)
    for (unsigned b = 0; b < 256; ++b)
      for (unsigned c = 0; c < 256; ++c) {
        s = bytes({a, b, c});
        if (utf8::is_valid(s) != reference_valid(s))
          FAIL("disagree on ", a, " ", b, " ", c);
      }
}

TEST_CASE("utf8: random strings biased to high bytes agree with a reference decoder (seeded)") {
  std::mt19937_64 rng{0x5eed};
  const unsigned interesting[] = {0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2,
                                  0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
  for (int i = 0; i < 200000; ++i) {
    std::string s;
    const std::size_t n = rng() % 12;
    for (std::size_t k = 0; k < n; ++k)
      s.push_back(static_cast<char>(rng() % 2 ? interesting[rng() % std::size(interesting)] : rng() % 256));
    const bool valid = utf8::is_valid(s);
    if (valid != reference_valid(s))
      FAIL("disagree on a string of ", s.size(), " bytes");
  }
}
