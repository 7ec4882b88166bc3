// client_hello's 1.8 credentials (user, password): optional trailing fields, both or neither,
// checked at decode time at their limits (user: a label of 255 bytes; password:
// limits::max_password_bytes of UTF-8) and one past them.
#include <doctest/doctest.h>

#include <string>

#include "protocol/codec.hpp"
#include "protocol/limits.hpp"

using namespace tandem::protocol;

namespace {

void put_le(std::string& b, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    b.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// client_hello{1, 6, "c"} followed by `tail` (the raw credential fields), framed.
std::string hello_frame(const std::string& tail) {
  std::string body;
  put_le(body, 1, 2);
  put_le(body, 6, 2);
  put_le(body, 1, 2);
  body += "c";
  body += tail;
  std::string f;
  put_le(f, 1 + body.size(), 4);
  f.push_back(static_cast<char>(frame_type::client_hello));
  return f + body;
}

std::string str16(const std::string& s) {
  std::string out;
  put_le(out, s.size(), 2);
  return out + s;
}

std::string decode_error(const std::string& frame) {
  auto m = decode(frame, 1u << 20);
  return m ? std::string{"<ok>"} : m.error().message;
}

client_hello round_trip(const client_hello& h) {
  std::string out;
  REQUIRE(encode(h, out));
  auto m = decode(out, 1u << 20);
  REQUIRE(m);
  return std::get<client_hello>(m.value());
}

} // namespace

TEST_CASE("client_hello_without_credentials_is_the_1_5_frame") {
  std::string out;
  REQUIRE(encode(client_hello{1, 6, "c"}, out));
  CHECK(out == hello_frame(""));
  CHECK(round_trip(client_hello{1, 6, "c"}) == client_hello{1, 6, "c"});
}

TEST_CASE("client_hello_credentials_round_trip") {
  client_hello h{1, 6, "c", "alice", "s3cret"};
  CHECK(round_trip(h) == h);
  client_hello only_password{1, 6, "c", "", "pw"}; // sent (an empty user is an unknown one)
  CHECK(round_trip(only_password) == only_password);
}

TEST_CASE("client_hello_user_at_limit_and_above") {
  CHECK(decode_error(hello_frame(str16(std::string(limits::max_name_bytes, 'u')) + str16("pw"))) == "<ok>");
  CHECK(decode_error(hello_frame(str16(std::string(limits::max_name_bytes + 1, 'u')) + str16("pw")))
          .find("client_hello: user") != std::string::npos);
}

TEST_CASE("client_hello_password_at_limit_and_above") {
  const std::string at = std::string(limits::max_password_bytes, 'p');
  CHECK(decode_error(hello_frame(str16("alice") + str16(at))) == "<ok>");
  CHECK(decode_error(hello_frame(str16("alice") + str16(at + "p"))).find("client_hello: password") !=
        std::string::npos);
  std::string out;
  CHECK_FALSE(encode(client_hello{1, 6, "c", "alice", at + "p"}, out)); // nor is it sent
}

TEST_CASE("client_hello_user_without_password_is_malformed") {
  CHECK(decode_error(hello_frame(str16("alice"))) != "<ok>");
  CHECK(decode_error(hello_frame(str16("alice") + str16("pw") + "x")) != "<ok>"); // trailing byte
  // Both empty: one encoding per hello, so a hello without credentials ends after client_name.
  CHECK(decode_error(hello_frame(str16("") + str16(""))) ==
        "client_hello: user: empty user and password are sent as neither");
}
