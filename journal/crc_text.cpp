#include "journal/crc_text.hpp"

#include <cstdio>
#include <limits>

#include "journal/crc32c.hpp"

namespace tandem::journal {

std::optional<std::uint64_t> parse_decimal(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::string_view take_line(std::string_view& text) {
  const auto nl = text.find('\n');
  const std::string_view line = text.substr(0, nl);
  text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  return line;
}

std::string with_crc_line(std::string body) {
  char crc[32];
  std::snprintf(crc, sizeof crc, "crc %08x\n", crc32c::mask(crc32c::value(body.data(), body.size())));
  return body + crc;
}

result<std::string_view> body_before_crc(std::string_view text, const std::string& path) {
  const auto bad = [&](const std::string& why) { return status{errc::corruption, path + ": " + why}; };
  const auto crc_at = text.rfind("crc ");
  if (crc_at == std::string_view::npos || (crc_at > 0 && text[crc_at - 1] != '\n')) return bad("missing crc line");
  const std::string_view crc_line = text.substr(crc_at);
  if (crc_line.size() != 13 || crc_line.back() != '\n') return bad("malformed crc line");
  unsigned stored = 0;
  for (char c : crc_line.substr(4, 8)) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return bad("malformed crc line");
    stored = stored * 16 + static_cast<unsigned>(d);
  }
  if (crc32c::unmask(stored) != crc32c::value(text.data(), crc_at)) return bad("checksum mismatch");
  return text.substr(0, crc_at);
}

} // namespace tandem::journal
