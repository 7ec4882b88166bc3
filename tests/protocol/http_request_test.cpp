#include <doctest/doctest.h>

#include "protocol/http_request.hpp"
#include "protocol/http_response.hpp"

using namespace tandem::protocol;

TEST_CASE("a curl-style request parses into method, target, query and version") {
  http_request_parser p;
  auto st = p.feed("GET /status?pretty=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: curl\r\n\r\n");
  REQUIRE(st == http_parse_state::complete);
  CHECK(p.request().method == "GET");
  CHECK(p.request().target == "/status");
  CHECK(p.request().query == "pretty=1");
  CHECK(p.request().version == "HTTP/1.1");
}

TEST_CASE("a request split at every byte parses the same") {
  std::string req = "GET /metrics HTTP/1.0\r\nAccept: */*\r\n\r\n";
  for (size_t cut = 0; cut <= req.size(); ++cut) {
    CAPTURE(cut);
    http_request_parser p;
    auto first = p.feed(std::string_view{req}.substr(0, cut));
    CHECK(first == (cut == req.size() ? http_parse_state::complete : http_parse_state::incomplete));
    CHECK(p.feed(std::string_view{req}.substr(cut)) == http_parse_state::complete);
    CHECK(p.request().target == "/metrics");
  }
}

TEST_CASE("one byte at a time parses too") {
  std::string req = "GET /healthz HTTP/1.1\r\n\r\n";
  http_request_parser p;
  for (char c : req)
    p.feed(std::string_view{&c, 1});
  CHECK(p.state() == http_parse_state::complete);
}

TEST_CASE("bare LF line endings are accepted") {
  http_request_parser p;
  CHECK(p.feed("GET /status HTTP/1.0\n\n") == http_parse_state::complete);
}

TEST_CASE("an endless head is too_large at the limit, not buffered") {
  http_request_parser p{64};
  CHECK(p.feed("GET /status HTTP/1.1\r\n") == http_parse_state::incomplete);
  CHECK(p.feed(std::string(100, 'x')) == http_parse_state::too_large);
  CHECK(p.error().find("64 bytes") != std::string::npos);
  // Once refused, further input changes nothing.
  CHECK(p.feed("\r\n\r\n") == http_parse_state::too_large);
}

TEST_CASE("malformed request lines are rejected with a reason") {
  for (auto bad : {"GARBAGE\r\n\r\n", "GET status HTTP/1.1\r\n\r\n", "GET /status HTTP/2.0\r\n\r\n",
                   "GET /a b HTTP/1.1\r\n\r\n", "G@T /status HTTP/1.1\r\n\r\n", "GET /\x01 HTTP/1.1\r\n\r\n",
                   " /status HTTP/1.1\r\n\r\n"}) {
    CAPTURE(bad);
    http_request_parser p;
    CHECK(p.feed(bad) == http_parse_state::malformed);
    CHECK_FALSE(p.error().empty());
  }
}

TEST_CASE("responses carry status, length and Connection: close") {
  auto r = http_response(404, "text/plain", "nope\n");
  CHECK(r == "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nnope\n");
  CHECK(http_reason(431) == "Request Header Fields Too Large");
}
