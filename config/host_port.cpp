#include "config/host_port.hpp"

#include <algorithm>
#include <cctype>

#include "config/parse.hpp"

namespace tandem::config {

namespace detail {

namespace {

bool has_space_or_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isspace(u) || std::iscntrl(u);
  });
}

// Port 0 means "any" to bind() but nothing to connect() to, so a destination port is 1..65535.
std::variant<std::uint16_t, std::string> check_port(std::string_view digits) {
  if (digits.empty())
    return std::string{"missing port after ':'"};
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return "port " + std::string{digits} + " is not a number";
  // Compare as text first so that a very long digit string cannot overflow.
  auto significant = digits.substr(std::min(digits.find_first_not_of('0'), digits.size()));
  if (significant.empty() || significant.size() > 5 || std::stoul(std::string{significant}) > 65535)
    return "port " + std::string{digits} + " is out of range 1..65535";
  return static_cast<std::uint16_t>(std::stoul(std::string{significant}));
}

} // namespace

std::variant<host_port, std::string> check_host_port(std::string_view s) {
  if (s.empty())
    return std::string{"empty address (expected host:port)"};
  if (has_space_or_control(s))
    return std::string{"address contains whitespace or control characters"};
  std::string_view host;
  std::string_view rest; // what follows the host: ":port" when well formed
  if (s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos)
      return std::string{"missing ']' after IPv6 address"};
    host = s.substr(1, close - 1);
    rest = s.substr(close + 1);
    if (host.find('[') != std::string_view::npos)
      return std::string{"unbalanced brackets"};
    if (host.empty())
      return std::string{"empty host inside brackets"};
    if (rest.empty())
      return std::string{"missing port (expected [host]:port)"};
    if (rest.front() != ':')
      return std::string{"expected ':' after ']'"};
  } else {
    if (s.find_first_of("[]") != std::string_view::npos)
      return std::string{"brackets are only allowed around the whole host, as in [::1]:27100"};
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos)
      return std::string{"missing port (expected host:port)"};
    host = s.substr(0, colon);
    rest = s.substr(colon);
    if (host.find(':') != std::string_view::npos)
      return std::string{"an IPv6 address must be in brackets, as in [::1]:27100"};
    if (host.empty())
      return std::string{"empty host (expected host:port)"};
  }
  auto port = check_port(rest.substr(1));
  if (auto* problem = std::get_if<std::string>(&port))
    return std::move(*problem);
  return host_port{std::string{host}, std::get<std::uint16_t>(port)};
}

} // namespace detail

std::optional<host_port> parse_host_port(std::string_view s) {
  auto checked = detail::check_host_port(s);
  if (auto* address = std::get_if<host_port>(&checked))
    return std::move(*address);
  return std::nullopt;
}

std::string to_string(const host_port& address) {
  auto port = std::to_string(address.port);
  if (address.host.find(':') != std::string::npos)
    return "[" + address.host + "]:" + port;
  return address.host + ":" + port;
}

} // namespace tandem::config
