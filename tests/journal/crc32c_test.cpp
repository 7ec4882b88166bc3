#include <doctest/doctest.h>

#include <random>
#include <string>

#include "journal/crc32c.hpp"

using namespace tandem::journal;

TEST_CASE("crc32c matches the standard check value and known vectors") {
  CHECK(crc32c::value("123456789", 9) == 0xe3069283u);
  const std::string zeros(32, '\0');
  CHECK(crc32c::value(zeros.data(), zeros.size()) == 0x8a9136aau);
  const std::string ones(32, '\xff');
  CHECK(crc32c::value(ones.data(), ones.size()) == 0x62a8ab43u);
  CHECK(crc32c::extend_portable(0, "123456789", 9) == 0xe3069283u);
}

TEST_CASE("crc32c hardware and portable paths agree at every length and alignment") {
  std::mt19937_64 rng(7);
  std::string data(600, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  for (std::size_t off = 0; off < 9; ++off)
    for (std::size_t n = 0; n + off <= data.size(); n += 7)
      REQUIRE(crc32c::value(data.data() + off, n) == crc32c::extend_portable(0, data.data() + off, n));
}

TEST_CASE("crc32c extend over pieces equals the crc of the whole") {
  const std::string s = "hello, journal world";
  CHECK(crc32c::extend(crc32c::value(s.data(), 5), s.data() + 5, s.size() - 5) == crc32c::value(s.data(), s.size()));
}

TEST_CASE("crc32c mask round trips and changes the value") {
  for (std::uint32_t v : {0u, 1u, 0xe3069283u, 0xffffffffu}) {
    CHECK(crc32c::unmask(crc32c::mask(v)) == v);
    CHECK(crc32c::mask(v) != v);
  }
}
