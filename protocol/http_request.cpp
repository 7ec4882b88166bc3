#include "protocol/http_request.hpp"

#include <algorithm>

namespace tandem::protocol {

namespace {

bool is_token_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
         || c == '_';
}

bool is_target_char(char c) {
  // Visible ASCII only: no spaces, controls or bytes >= 0x80 in a request target.
  return c > 0x20 && c < 0x7f;
}

} // namespace

http_parse_state http_request_parser::feed(std::string_view bytes) {
  if (state_ != http_parse_state::incomplete)
    return state_;
  // Only look for the end of the head in the region that could contain it, so that a client
  // feeding one byte at a time costs O(n) overall, not O(n^2).
  auto search_from = buffer_.size() < 3 ? 0 : buffer_.size() - 3;
  auto room = max_head_bytes_ - buffer_.size();
  buffer_.append(bytes.substr(0, room));
  auto end = buffer_.find("\r\n\r\n", search_from);
  if (end == std::string::npos) // tolerate bare LF line endings (netcat, hand-typed requests)
    end = buffer_.find("\n\n", search_from);
  if (end == std::string::npos) {
    if (bytes.size() > room || buffer_.size() >= max_head_bytes_) {
      error_ = "request head exceeds " + std::to_string(max_head_bytes_) + " bytes";
      return state_ = http_parse_state::too_large;
    }
    return state_;
  }
  return state_ = parse_head(std::string_view{buffer_}.substr(0, end));
}

http_parse_state http_request_parser::parse_head(std::string_view head) {
  auto line_end = head.find('\n');
  auto line = head.substr(0, line_end);
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  auto sp1 = line.find(' ');
  auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos
      || line.find(' ', sp2 + 1) != std::string_view::npos) {
    error_ = "request line is not 'METHOD TARGET VERSION'";
    return http_parse_state::malformed;
  }
  auto method = line.substr(0, sp1);
  auto target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  auto version = line.substr(sp2 + 1);
  if (method.empty() || method.size() > 16) {
    error_ = "bad method";
    return http_parse_state::malformed;
  }
  for (char c : method)
    if (!is_token_char(c)) {
      error_ = "bad method";
      return http_parse_state::malformed;
    }
  if (target.empty() || target.front() != '/') {
    error_ = "request target must start with '/'";
    return http_parse_state::malformed;
  }
  for (char c : target)
    if (!is_target_char(c)) {
      error_ = "request target contains a control or non-ASCII byte";
      return http_parse_state::malformed;
    }
  if (version != "HTTP/1.0" && version != "HTTP/1.1") {
    error_ = "unsupported version '" + std::string{version.substr(0, 16)} + "'";
    return http_parse_state::malformed;
  }
  request_.method = std::string{method};
  auto q = target.find('?');
  request_.target = std::string{target.substr(0, q)};
  request_.query = q == std::string_view::npos ? std::string{} : std::string{target.substr(q + 1)};
  request_.version = std::string{version};
  return parse_authorization(line_end == std::string_view::npos ? std::string_view{} : head.substr(line_end + 1));
}

// The header lines after the request line: only Authorization is kept (case-insensitive name).
http_parse_state http_request_parser::parse_authorization(std::string_view headers) {
  constexpr std::string_view name = "authorization:";
  while (!headers.empty()) {
    auto end = headers.find('\n');
    auto line = headers.substr(0, end);
    headers = end == std::string_view::npos ? std::string_view{} : headers.substr(end + 1);
    if (line.size() < name.size() ||
        !std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) { return a == (b | 0x20) || a == b; }))
      continue;
    if (request_.authorization) {
      error_ = "more than one Authorization header";
      return http_parse_state::malformed;
    }
    auto value = line.substr(name.size());
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ' || value.back() == '\t'))
      value.remove_suffix(1);
    request_.authorization = std::string{value};
  }
  return http_parse_state::complete;
}

} // namespace tandem::protocol
