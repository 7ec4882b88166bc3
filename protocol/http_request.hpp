// A bounded, incremental parser for the HTTP/1.x requests the admin listener serves
// (GET /status, GET /metrics, ...). It accepts only what an operator's curl, a browser or a
// Prometheus scraper sends: a request line and headers, no body.
//
// Contract: feed() may be called with any split of the byte stream; it never buffers more than
// max_head_bytes, so a client that streams an endless header is refused, not accommodated.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::protocol {

enum class http_parse_state {
  incomplete, // need more bytes
  complete,   // request() is valid; trailing bytes (pipelining) are ignored
  too_large,  // head exceeded max_head_bytes -> answer 431 and close
  malformed,  // not an HTTP/1.x request we accept -> answer 400 and close
};

struct http_request {
  std::string method;  // e.g. "GET"
  std::string target;  // path without the query, e.g. "/status"
  std::string query;   // after '?', without it; may be empty
  std::string version; // "HTTP/1.0" or "HTTP/1.1"
  // The Authorization header's value, leading and trailing blanks removed (issue 18: the admin
  // bearer token); nullopt when the request has none. A second one makes the request malformed.
  std::optional<std::string> authorization;
};

class http_request_parser {
public:
  static constexpr std::size_t default_max_head_bytes = 8192;

  explicit http_request_parser(std::size_t max_head_bytes = default_max_head_bytes)
    : max_head_bytes_(max_head_bytes) {}

  http_parse_state feed(std::string_view bytes);
  http_parse_state state() const { return state_; }
  const http_request& request() const { return request_; }
  // Why the request was refused (for the log), empty unless malformed/too_large.
  const std::string& error() const { return error_; }

private:
  http_parse_state parse_head(std::string_view head);
  http_parse_state parse_authorization(std::string_view headers);

  std::size_t max_head_bytes_;
  std::string buffer_;
  http_parse_state state_ = http_parse_state::incomplete;
  http_request request_;
  std::string error_;
};

} // namespace tandem::protocol
