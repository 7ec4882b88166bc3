// config/password_hash.hpp: RFC 7914 known answers, the hash string's grammar with a bad value at
// every field, and verification.
#include <doctest/doctest.h>

#include <string>
#include <variant>

#include "config/password_hash.hpp"

using namespace tandem::config;

namespace {

std::string hex(const std::string& raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string parse_error(std::string_view text) {
  auto r = parse_password_hash(text);
  auto* e = std::get_if<std::string>(&r);
  return e ? *e : std::string{"<parsed>"};
}

// 16 bytes of salt, 32 of key, both base64.
const std::string salt16 = base64_encode(std::string(16, 's'));
const std::string key32 = base64_encode(std::string(32, 'k'));

} // namespace

TEST_CASE("scrypt_known_answers_rfc7914") {
  // RFC 7914, section 12, vectors 1 and 2.
  auto v1 = derive_scrypt("", "", {16, 1, 1}, 64);
  REQUIRE(v1);
  CHECK(hex(*v1) == "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
                    "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  auto v2 = derive_scrypt("password", "NaCl", {1024, 8, 16}, 64);
  REQUIRE(v2);
  CHECK(hex(*v2) == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
                    "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST_CASE("base64_round_trip_and_strictness") {
  for (std::string raw : {"", "f", "fo", "foo", "foob", "fooba", "foobar"})
    CHECK(base64_decode(base64_encode(raw)) == raw);
  CHECK(base64_encode("foobar") == "Zm9vYmFy"); // RFC 4648 section 10
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK_FALSE(base64_decode("Zm8"));   // length not a multiple of 4
  CHECK_FALSE(base64_decode("Zm9="));  // unused bits not zero
  CHECK_FALSE(base64_decode("Z=8="));  // padding inside
  CHECK_FALSE(base64_decode("Zm=v"));  // padding then data
  CHECK_FALSE(base64_decode("Zm8=Zm8=")); // padding before the last group
  CHECK_FALSE(base64_decode("Zm_v"));  // not in the alphabet
}

TEST_CASE("password_hash_made_verifies_and_round_trips") {
  auto h = make_password_hash("s3cret", {1024, 8, 1});
  REQUIRE(h);
  CHECK(h->salt.size() == salt_bytes);
  CHECK(h->key.size() == key_bytes);
  CHECK(verify_password(*h, "s3cret"));
  CHECK_FALSE(verify_password(*h, "s3cres"));
  CHECK_FALSE(verify_password(*h, ""));
  auto text = to_string(*h);
  CHECK(text.starts_with("$scrypt$N=1024,r=8,p=1$"));
  auto parsed = parse_password_hash(text);
  REQUIRE(std::holds_alternative<password_hash>(parsed));
  CHECK(std::get<password_hash>(parsed) == *h);
  auto other = make_password_hash("s3cret", {1024, 8, 1});
  REQUIRE(other);
  CHECK(other->salt != h->salt); // a random salt each time
}

TEST_CASE("password_hash_bad_strings_name_their_field") {
  const std::string ok = "$scrypt$N=16384,r=8,p=1$" + salt16 + "$" + key32;
  CHECK(parse_error(ok) == "<parsed>");
  struct row {
    std::string text;
    std::string error_starts;
  };
  const row rows[] = {
    {"", "expected \"$scrypt$"},
    {"scrypt$N=16384,r=8,p=1$" + salt16 + "$" + key32 + "$", "expected \"$scrypt$"},
    {"$scrypt$N=16384,r=8,p=1$" + salt16, "expected \"$scrypt$"},
    {ok + "$", "expected \"$scrypt$"},
    {"$pbkdf2$N=16384,r=8,p=1$" + salt16 + "$" + key32, "algorithm: expected \"scrypt\""},
    {"$scrypt$N=16384,r=8$" + salt16 + "$" + key32, "parameters: expected"},
    {"$scrypt$n=16384,r=8,p=1$" + salt16 + "$" + key32, "parameters: N: expected"},
    {"$scrypt$N=1000,r=8,p=1$" + salt16 + "$" + key32, "parameters: N: must be a power of two"},
    {"$scrypt$N=1,r=8,p=1$" + salt16 + "$" + key32, "parameters: N: must be a power of two"},
    {"$scrypt$N=0,r=8,p=1$" + salt16 + "$" + key32, "parameters: N: must be 1..1048576"},
    {"$scrypt$N=2097152,r=1,p=1$" + salt16 + "$" + key32, "parameters: N: must be 1..1048576"},
    {"$scrypt$N=16384x,r=8,p=1$" + salt16 + "$" + key32, "parameters: N: not a decimal"},
    {"$scrypt$N=99999999999999999999999,r=8,p=1$" + salt16 + "$" + key32, "parameters: N: not a decimal"},
    {"$scrypt$N=16384,r=33,p=1$" + salt16 + "$" + key32, "parameters: r: must be 1..32"},
    {"$scrypt$N=16384,r=,p=1$" + salt16 + "$" + key32, "parameters: r: not a decimal"},
    {"$scrypt$N=16384,r=8,p=17$" + salt16 + "$" + key32, "parameters: p: must be 1..16"},
    {"$scrypt$N=1048576,r=2,p=1$" + salt16 + "$" + key32, "parameters: N*r*128 bytes"},
    {"$scrypt$N=16384,r=8,p=1$!!!!$" + key32, "salt: not base64"},
    {"$scrypt$N=16384,r=8,p=1$" + base64_encode("1234567") + "$" + key32, "salt: must be 8..64 bytes, got 7"},
    {"$scrypt$N=16384,r=8,p=1$" + base64_encode(std::string(65, 'x')) + "$" + key32, "salt: must be 8..64 bytes, got 65"},
    {"$scrypt$N=16384,r=8,p=1$" + salt16 + "$", "key: must be 16..64 bytes, got 0"},
    {"$scrypt$N=16384,r=8,p=1$" + salt16 + "$" + base64_encode(std::string(65, 'k')), "key: must be 16..64 bytes, got 65"},
    {"$scrypt$N=16384,r=8,p=1$" + salt16 + "$" + key32.substr(1), "key: not base64"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.text);
    CHECK(parse_error(r.text).starts_with(r.error_starts));
  }
  // At the limits: N = 2^20 with r = 1 (128 MiB), 8 and 64 bytes of salt, 16 and 64 of key.
  CHECK(parse_error("$scrypt$N=1048576,r=1,p=16$" + base64_encode(std::string(8, 's')) + "$" +
                    base64_encode(std::string(16, 'k'))) == "<parsed>");
  CHECK(parse_error("$scrypt$N=2,r=32,p=1$" + base64_encode(std::string(64, 's')) + "$" +
                    base64_encode(std::string(64, 'k'))) == "<parsed>");
}
