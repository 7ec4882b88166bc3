#include "journal/extent.hpp"

#include "journal/crc_text.hpp"

namespace tandem::journal {

namespace {

// Seqs in the extent and base files: 1..19 digits (19 digits always fit a u64).
std::optional<std::uint64_t> parse_decimal(std::string_view s) { return journal::parse_decimal(s, 19); }

} // namespace

std::string encode_extent(const journal_extent& e) {
  std::string out = "tandem-extent 1\n";
  out += "base " + std::to_string(e.base) + "\n";
  out += "oldest " + std::to_string(e.oldest) + "\n";
  out += "active " + std::to_string(e.active) + "\n";
  out += "durable " + std::to_string(e.durable) + "\n";
  return with_crc_line(std::move(out));
}

result<journal_extent> decode_extent(std::string_view text, const std::string& path) {
  const auto bad = [&](const std::string& why) { return status{errc::corruption, path + ": " + why}; };
  auto checked = body_before_crc(text, path);
  if (!checked) return checked.error();

  // The crc matched: the lines are what a writer wrote; a surprise here is a format mismatch.
  std::string_view body = *checked;
  const auto next_line = [&] { return take_line(body); };
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
