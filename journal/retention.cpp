#include "journal/retention.hpp"

#include <cerrno>
#include <cstdio>
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

std::string retention_positions::encode(const std::map<std::string, std::uint64_t, std::less<>>& positions) {
  std::string out = "tandem-positions 1\n";
  for (const auto& [name, seq] : positions) out += name + " " + std::to_string(seq) + "\n";
  char crc[32];
  std::snprintf(crc, sizeof crc, "crc %08x\n", crc32c::mask(crc32c::value(out.data(), out.size())));
  return out + crc;
}

result<std::map<std::string, std::uint64_t, std::less<>>> retention_positions::decode(std::string_view text,
                                                                                        const std::string& path) {
  const auto bad = [&](const std::string& why) { return status{errc::corruption, path + ": " + why}; };
  const auto crc_at = text.rfind("crc ");
  if (crc_at == std::string_view::npos) return bad("missing crc line");
  const std::string crc_line(text.substr(crc_at));
  unsigned stored = 0;
  if (std::sscanf(crc_line.c_str(), "crc %8x", &stored) != 1) return bad("unreadable crc line");
  if (crc32c::unmask(stored) != crc32c::value(text.data(), crc_at)) return bad("checksum mismatch");
  std::istringstream in{std::string(text.substr(0, crc_at))};
  std::string line;
  if (!std::getline(in, line) || line != "tandem-positions 1") return bad("unknown header '" + line + "'");
  std::map<std::string, std::uint64_t, std::less<>> out;
  while (std::getline(in, line)) {
    const auto sp = line.rfind(' ');
    if (sp == std::string::npos) return bad("malformed line '" + line + "'");
    std::uint64_t seq = 0;
    try {
      seq = std::stoull(line.substr(sp + 1));
    } catch (...) { // std::stoull reports errors by exception; keep them inside
      return bad("malformed seq in line '" + line + "'");
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

std::uint64_t retention_positions::position(std::string_view destination) const {
  auto it = positions_.find(destination);
  return it == positions_.end() ? 0 : it->second;
}

std::uint64_t retention_positions::min_position() const {
  std::uint64_t m = std::numeric_limits<std::uint64_t>::max();
  for (const auto& [name, seq] : positions_) m = std::min(m, seq);
  return m;
}

status retention_positions::persist() {
  if (!dirty_) return {};
  if (auto s = fs_->write_file_atomic(path_, encode(positions_)); !s) return s;
  dirty_ = false;
  return {};
}

} // namespace tandem::journal
