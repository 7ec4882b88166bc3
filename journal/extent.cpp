#include "journal/extent.hpp"

#include <cstdio>

#include "journal/crc32c.hpp"

namespace tandem::journal {

namespace {

// Strict unsigned decimal: 1..19 digits, nothing else (19 digits always fit a u64).
std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

} // namespace

std::string encode_extent(const journal_extent& e) {
  std::string out = "tandem-extent 1\n";
  out += "base " + std::to_string(e.base) + "\n";
  out += "oldest " + std::to_string(e.oldest) + "\n";
  out += "active " + std::to_string(e.active) + "\n";
  out += "durable " + std::to_string(e.durable) + "\n";
  char crc[32];
  std::snprintf(crc, sizeof crc, "crc %08x\n", crc32c::mask(crc32c::value(out.data(), out.size())));
  return out + crc;
}

result<journal_extent> decode_extent(std::string_view text, const std::string& path) {
  const auto bad = [&](const std::string& why) { return status{errc::corruption, path + ": " + why}; };
  const auto crc_at = text.rfind("crc ");
  if (crc_at == std::string_view::npos || (crc_at > 0 && text[crc_at - 1] != '\n')) return bad("missing crc line");
  const std::string_view crc_line = text.substr(crc_at);
  if (crc_line.size() != 13 || crc_line.back() != '\n') return bad("malformed crc line");
  unsigned stored = 0;
  for (char c : crc_line.substr(4, 8)) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return bad("malformed crc line");
    stored = stored * 16 + static_cast<unsigned>(d);
  }
  if (crc32c::unmask(stored) != crc32c::value(text.data(), crc_at)) return bad("checksum mismatch");

  // The crc matched: the lines are what a writer wrote; a surprise here is a format mismatch.
  std::string_view body = text.substr(0, crc_at);
  const auto next_line = [&]() -> std::string_view {
    const auto nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    return line;
  };
  if (next_line() != "tandem-extent 1") return bad("unknown header");
  journal_extent e;
  for (auto [key, field] : {std::pair<std::string_view, std::uint64_t*>{"base", &e.base}, {"oldest", &e.oldest},
                            {"active", &e.active}, {"durable", &e.durable}}) {
    const std::string_view line = next_line();
    if (line.substr(0, key.size() + 1) != std::string(key) + " ") return bad("expected line '" + std::string(key) + "'");
    auto v = parse_decimal(line.substr(key.size() + 1));
    if (!v) return bad("malformed " + std::string(key));
    *field = *v;
  }
  if (!body.empty()) return bad("unexpected trailing lines");
  if (e.base == 0 || e.oldest < e.base || e.active < e.oldest || e.durable + 1 < e.base)
    return bad("inconsistent fields (base " + std::to_string(e.base) + ", oldest " + std::to_string(e.oldest) +
               ", active " + std::to_string(e.active) + ", durable " + std::to_string(e.durable) + ")");
  return e;
}

std::optional<std::uint64_t> parse_base_file(std::string_view text) {
  if (text.empty() || text.back() != '\n') return std::nullopt;
  auto v = parse_decimal(text.substr(0, text.size() - 1));
  if (!v || *v == 0) return std::nullopt;
  return v;
}

result<std::optional<journal_extent>> read_extent_file(file_system& fs, const std::string& dir) {
  const std::string path = dir + "/extent";
  if (!fs.exists(path)) return std::optional<journal_extent>{};
  auto text = fs.read_file(path);
  if (!text) return text.error();
  auto e = decode_extent(*text, path);
  if (!e) return e.error();
  return std::optional<journal_extent>{*e};
}

} // namespace tandem::journal
