#include "client/bookmark.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "journal/crc32c.hpp"

namespace tandem::client {

namespace {

constexpr std::string_view header_line = "tandem-bookmark 1\n";
constexpr char hex_digits[] = "0123456789abcdef";

std::string escaped(const std::string& origin) {
  std::string out;
  for (char c : origin) {
    const auto u = static_cast<unsigned char>(c);
    if (u < '!' || u > '~' || c == '%') {
      out += '%';
      out += hex_digits[u >> 4];
      out += hex_digits[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::optional<std::string> unescaped(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size())
      return std::nullopt;
    const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string crc_line(std::string_view covered) {
  const auto crc = journal::crc32c::mask(journal::crc32c::value(covered.data(), covered.size()));
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(crc));
  return "crc " + std::string{buf} + "\n";
}

} // namespace

bool bookmark::covers(const std::string& origin, std::uint64_t origin_seq) const {
  auto it = seen_.find(origin);
  return it != seen_.end() && origin_seq <= it->second;
}

void bookmark::advance(const std::string& origin, std::uint64_t origin_seq) {
  auto [it, added] = seen_.try_emplace(origin, origin_seq);
  if (!added && origin_seq > it->second)
    it->second = origin_seq;
}

bool bookmark::covers_publisher(const std::string& publisher, std::uint64_t publisher_seq) const {
  if (publisher_seq == 0)
    return false;
  auto it = publishers_.find(publisher);
  return it != publishers_.end() && publisher_seq <= it->second;
}

void bookmark::advance_publisher(const std::string& publisher, std::uint64_t publisher_seq) {
  if (publisher_seq == 0)
    return;
  if (auto it = publishers_.find(publisher); it != publishers_.end())
    it->second = std::max(it->second, publisher_seq);
  else if (publishers_.size() < max_publishers)
    publishers_.emplace(publisher, publisher_seq);
}

std::vector<protocol::bookmark_entry> bookmark::entries() const {
  std::vector<protocol::bookmark_entry> out;
  out.reserve(seen_.size());
  for (const auto& [origin, seq] : seen_)
    out.push_back({origin, seq});
  return out;
}

std::string format_bookmark_file(const bookmark& b) {
  std::string text{header_line};
  for (const auto& [origin, seq] : b.origins())
    text += std::to_string(seq) + " " + escaped(origin) + "\n";
  for (const auto& [publisher, seq] : b.publishers())
    text += "p " + std::to_string(seq) + " " + escaped(publisher) + "\n";
  return text + crc_line(text);
}

parsed_bookmark parse_bookmark_file(const std::string& text) {
  parsed_bookmark out;
  if (text.compare(0, header_line.size(), header_line) != 0) {
    out.error = "line 1: expected '" + std::string{header_line.substr(0, header_line.size() - 1)} + "'";
    return out;
  }
  bookmark b;
  std::size_t at = header_line.size();
  for (std::size_t line = 2;; ++line) {
    const auto end = text.find('\n', at);
    const auto where = "line " + std::to_string(line) + ": ";
    if (end == std::string::npos) {
      out.error = where + "missing the final crc line (file cut short?)";
      return out;
    }
    std::string_view l = std::string_view{text}.substr(at, end - at);
    if (l.substr(0, 4) == "crc ") {
      if (crc_line(std::string_view{text}.substr(0, at)) != std::string{l} + "\n") {
        out.error = where + "checksum mismatch";
        return out;
      }
      if (end + 1 != text.size()) {
        out.error = where + "bytes after the crc line";
        return out;
      }
      out.value = std::move(b);
      return out;
    }
    const bool publisher_line = l.substr(0, 2) == "p ";
    if (publisher_line)
      l = l.substr(2);
    const auto space = l.find(' ');
    std::uint64_t seq = 0;
    std::optional<std::string> origin;
    if (space != std::string_view::npos) {
      auto [p, ec] = std::from_chars(l.data(), l.data() + space, seq);
      if (ec == std::errc{} && p == l.data() + space)
        origin = unescaped(l.substr(space + 1));
    }
    if (!origin) {
      out.error = where + (publisher_line ? "expected 'p <publisher_seq> <publisher>'" : "expected '<origin_seq> <origin>'");
      return out;
    }
    if (publisher_line)
      b.advance_publisher(*origin, seq);
    else
      b.advance(*origin, seq);
    at = end + 1;
  }
}

std::string save_bookmark(const std::string& path, const bookmark& b, journal::file_system& fs) {
  if (auto st = fs.write_file_atomic(path, format_bookmark_file(b)); !st)
    return "bookmark file: " + st.to_string();
  return {};
}

parsed_bookmark load_bookmark(const std::string& path, journal::file_system& fs) {
  parsed_bookmark out;
  if (!fs.exists(path)) {
    out.value = bookmark{};
    return out;
  }
  auto text = fs.read_file(path);
  if (!text) {
    out.error = "bookmark file: " + text.error().to_string();
    return out;
  }
  out = parse_bookmark_file(*text);
  if (!out.value)
    out.error = "bookmark file " + path + ": " + out.error;
  return out;
}

} // namespace tandem::client
