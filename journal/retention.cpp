#include "journal/retention.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <sstream>

#include "journal/crc32c.hpp"
#include "journal/record_format.hpp"

namespace tandem::journal {

status retention_positions::validate_name(std::string_view name) {
  if (name.empty() || name.size() > format::max_name_bytes)
    return {errc::invalid_argument, "destination name must be 1..255 bytes: '" + std::string(name) + "'"};
  for (unsigned char c : name)
    if (c <= ' ' || c == 0x7f)
      return {errc::invalid_argument, "destination name contains whitespace or control characters: '" +
                                          std::string(name) + "'"};
  return {};
}

namespace {

// The framing both text files share: a header line, the body lines, a masked CRC32C line.
std::string frame(const std::string& header, const std::string& body) {
  std::string out = header + "\n" + body;
  char crc[32];
  std::snprintf(crc, sizeof crc, "crc %08x\n", crc32c::mask(crc32c::value(out.data(), out.size())));
  return out + crc;
}

// The body lines of a framed file, after the checksum and the header were checked.
result<std::vector<std::string>> unframe(std::string_view text, const std::string& header, const std::string& path) {
  const auto bad = [&](const std::string& why) { return status{errc::corruption, path + ": " + why}; };
  const auto crc_at = text.rfind("crc ");
  if (crc_at == std::string_view::npos) return bad("missing crc line");
  const std::string crc_line(text.substr(crc_at));
  unsigned stored = 0;
  if (std::sscanf(crc_line.c_str(), "crc %8x", &stored) != 1) return bad("unreadable crc line");
  if (crc32c::unmask(stored) != crc32c::value(text.data(), crc_at)) return bad("checksum mismatch");
  std::istringstream in{std::string(text.substr(0, crc_at))};
  std::string line;
  if (!std::getline(in, line) || line != header) return bad("unknown header '" + line + "'");
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

// A decimal field of a line; nullopt when it is not one (std::stoull would accept "-1" and " 7").
std::optional<std::uint64_t> parse_u64(std::string_view digits) {
  if (digits.empty() || digits.size() > 20) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

} // namespace

std::string retention_positions::encode(const std::map<std::string, std::uint64_t, std::less<>>& positions) {
  std::string body;
  for (const auto& [name, seq] : positions) body += name + " " + std::to_string(seq) + "\n";
  return frame("tandem-positions 1", body);
}

result<std::map<std::string, std::uint64_t, std::less<>>> retention_positions::decode(std::string_view text,
                                                                                        const std::string& path) {
  auto lines = unframe(text, "tandem-positions 1", path);
  if (!lines) return lines.error();
  std::map<std::string, std::uint64_t, std::less<>> out;
  for (const auto& line : *lines) {
    const auto sp = line.rfind(' ');
    if (sp == std::string::npos) return status{errc::corruption, path + ": malformed line '" + line + "'"};
    std::uint64_t seq = 0;
    try {
      seq = std::stoull(line.substr(sp + 1));
    } catch (...) { // std::stoull reports errors by exception; keep them inside
      return status{errc::corruption, path + ": malformed seq in line '" + line + "'"};
    }
    out[line.substr(0, sp)] = seq;
  }
  return out;
}

result<retention_positions> retention_positions::load(file_system& fs, const std::string& dir,
                                                      const std::vector<std::string>& configured,
                                                      std::vector<std::string>* released,
                                                      std::vector<std::string>* added) {
  retention_positions r(fs, dir + "/" + format::positions_file);
  std::map<std::string, std::uint64_t, std::less<>> persisted;
  if (fs.exists(r.path_)) {
    auto text = fs.read_file(r.path_);
    if (!text) return text.error();
    auto decoded = decode(*text, r.path_);
    if (!decoded) return decoded.error();
    persisted = std::move(*decoded);
  }
  for (const auto& name : configured) {
    if (auto s = validate_name(name); !s) return s;
    auto it = persisted.find(name);
    if (it == persisted.end()) {
      r.positions_[name] = 0;
      r.dirty_ = true;
      if (added) added->push_back(name);
    } else {
      r.positions_[name] = it->second;
    }
  }
  for (const auto& [name, seq] : persisted) {
    if (!r.positions_.contains(name)) {
      r.dirty_ = true;
      if (released) released->push_back(name);
    }
  }
  return r;
}

status retention_positions::acknowledge(std::string_view destination, std::uint64_t seq) {
  auto it = positions_.find(destination);
  if (it == positions_.end())
    return {errc::invalid_argument, "unknown destination '" + std::string(destination) + "'"};
  if (seq > it->second) {
    it->second = seq;
    dirty_ = true;
  }
  return {};
}

status retention_positions::add(std::string_view destination) {
  if (auto s = validate_name(destination); !s) return s;
  if (positions_.find(destination) == positions_.end()) {
    positions_.emplace(std::string{destination}, 0);
    dirty_ = true;
  }
  return {};
}

void retention_positions::remove(std::string_view destination) {
  if (auto it = positions_.find(destination); it != positions_.end()) {
    positions_.erase(it);
    dirty_ = true;
  }
}

std::uint64_t retention_positions::position(std::string_view destination) const {
  auto it = positions_.find(destination);
  return it == positions_.end() ? 0 : it->second;
}

std::uint64_t retention_positions::min_position(const released_map& ignored) const {
  std::uint64_t m = std::numeric_limits<std::uint64_t>::max();
  for (const auto& [name, seq] : positions_)
    if (ignored.find(name) == ignored.end()) m = std::min(m, seq);
  return m;
}

std::optional<std::string> retention_positions::take_changes() {
  if (!dirty_) return std::nullopt;
  dirty_ = false;
  return encode(positions_);
}

status retention_positions::write(std::string_view text) { return fs_->write_file_atomic(path_, text); }

// --- released destinations -------------------------------------------------------------------

std::string released_destinations::encode(const released_map& released) {
  std::string body;
  for (const auto& [name, r] : released)
    body += name + " " + std::to_string(r.from_seq) + " " + std::to_string(r.since_ns) + "\n";
  return frame("tandem-released 1", body);
}

result<released_map> released_destinations::decode(std::string_view text, const std::string& path) {
  auto lines = unframe(text, "tandem-released 1", path);
  if (!lines) return lines.error();
  released_map out;
  for (const auto& line : *lines) {
    const auto b = line.rfind(' ');
    const auto a = b == std::string::npos || b == 0 ? std::string::npos : line.rfind(' ', b - 1);
    const auto from = a == std::string::npos ? std::nullopt : parse_u64(std::string_view(line).substr(a + 1, b - a - 1));
    const auto since = a == std::string::npos ? std::nullopt : parse_u64(std::string_view(line).substr(b + 1));
    if (!from || !since || *since > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return status{errc::corruption, path + ": malformed line '" + line + "'"};
    out[line.substr(0, a)] = release_info{*from, static_cast<std::int64_t>(*since)};
  }
  return out;
}

result<released_destinations> released_destinations::load(file_system& fs, const std::string& dir,
                                                           const std::vector<std::string>& configured) {
  released_destinations r(fs, dir + "/" + format::released_file);
  if (!fs.exists(r.path_)) return r;
  auto text = fs.read_file(r.path_);
  if (!text) return text.error();
  auto decoded = decode(*text, r.path_);
  if (!decoded) return decoded.error();
  for (auto& [name, info] : *decoded) {
    if (std::find(configured.begin(), configured.end(), name) != configured.end())
      r.released_.emplace(name, info);
    else
      r.dirty_ = true; // no longer configured: its position is dropped too
  }
  return r;
}

void released_destinations::release(const std::string& name, release_info info) {
  released_[name] = info;
  dirty_ = true;
}

void released_destinations::restore(std::string_view name) {
  if (auto it = released_.find(name); it != released_.end()) {
    released_.erase(it);
    dirty_ = true;
  }
}

status released_destinations::persist() {
  if (!dirty_) return {};
  if (auto s = fs_->write_file_atomic(path_, encode(released_)); !s) return s;
  dirty_ = false;
  return {};
}

// --- the hold rule ---------------------------------------------------------------------------

std::uint64_t hold_of(const std::vector<hold_segment>& segments, std::uint64_t position, bool all) {
  std::uint64_t bytes = 0;
  for (const auto& s : segments) {
    if (!all && !s.old_enough) break; // removal is prefix-only: the rest is kept by the age rule
    if (s.last_seq > position) bytes += s.bytes;
  }
  return bytes;
}

hold_decision decide_holds(const std::vector<hold_segment>& segments,
                           const std::map<std::string, std::uint64_t, std::less<>>& positions,
                           const released_map& released, std::uint64_t max_held_bytes) {
  hold_decision d;
  std::map<std::string, std::uint64_t, std::less<>> holding; // name -> its hold (bytes)
  for (const auto& [name, pos] : positions) {
    if (released.find(name) != released.end()) {
      if (max_held_bytes != 0 && hold_of(segments, pos, true) > 0) continue; // still released
      d.restored.push_back(name);
    }
    holding.emplace(name, hold_of(segments, pos));
  }
  const auto largest = [&] {
    auto best = holding.end();
    for (auto it = holding.begin(); it != holding.end(); ++it)
      if (best == holding.end() || it->second > best->second) best = it; // ties: the first name
    return best;
  };
  for (auto it = largest(); it != holding.end(); it = largest()) {
    if (max_held_bytes == 0 || it->second <= max_held_bytes) {
      d.held_bytes = it->second;
      break;
    }
    d.released.push_back(it->first);
    holding.erase(it);
  }
  return d;
}

} // namespace tandem::journal
