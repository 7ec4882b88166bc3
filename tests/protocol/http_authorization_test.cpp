// http_request_parser keeps the Authorization header (issue 18: the admin bearer token); a second
// one makes the request malformed, so a proxy's header cannot be smuggled next to the client's.
#include <doctest/doctest.h>

#include <string>

#include "protocol/http_request.hpp"

using namespace tandem::protocol;

namespace {

http_request_parser parsed(const std::string& head) {
  http_request_parser p;
  p.feed(head);
  return p;
}

} // namespace

TEST_CASE("http_authorization_header_is_kept_trimmed_and_case_insensitive") {
  auto p = parsed("POST /config/reload HTTP/1.1\r\nHost: x\r\nauthorization:  Bearer abc \r\n\r\n");
  REQUIRE(p.state() == http_parse_state::complete);
  REQUIRE(p.request().authorization);
  CHECK(*p.request().authorization == "Bearer abc");
  auto none = parsed("GET /status HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(none.state() == http_parse_state::complete);
  CHECK_FALSE(none.request().authorization);
  auto upper = parsed("GET /status HTTP/1.0\r\nAUTHORIZATION: Bearer t\r\n\r\n");
  REQUIRE(upper.request().authorization);
  CHECK(*upper.request().authorization == "Bearer t");
  auto other = parsed("GET /status HTTP/1.0\r\nAuthorizationX: Bearer t\r\n\r\n"); // another header
  CHECK_FALSE(other.request().authorization);
}

TEST_CASE("http_second_authorization_header_is_malformed") {
  auto p = parsed("GET /status HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n");
  CHECK(p.state() == http_parse_state::malformed);
  CHECK(p.error() == "more than one Authorization header");
}
