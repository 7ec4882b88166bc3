#include "journal/instance_id.hpp"

#include <sys/random.h>

#include <cerrno>
#include <charconv>
#include <optional>

namespace tandem::journal {
namespace {

constexpr std::size_t id_size = 16;

std::optional<std::string> hex_to_id(std::string_view hex) {
  if (hex.size() != 2 * id_size)
    return std::nullopt;
  std::string id;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    if (ec != std::errc{} || p != hex.data() + i + 2)
      return std::nullopt;
    id.push_back(static_cast<char>(v));
  }
  if (id_to_hex(id) != hex) // lowercase only: one spelling per id
    return std::nullopt;
  return id;
}

struct parsed {
  std::string id;
  std::uint64_t base = 0;
};

std::optional<parsed> parse(std::string_view text) {
  if (text.empty() || text.back() != '\n')
    return std::nullopt;
  text.remove_suffix(1);
  auto space = text.find(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  auto id = hex_to_id(text.substr(0, space));
  auto num = text.substr(space + 1);
  parsed out;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), out.base);
  if (!id || num.empty() || ec != std::errc{} || p != num.data() + num.size())
    return std::nullopt;
  out.id = std::move(*id);
  return out;
}

} // namespace

std::string random_instance_id() {
  std::string id(id_size, '\0');
  std::size_t got = 0;
  while (got < id.size()) {
    auto n = ::getrandom(id.data() + got, id.size() - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return {}; // the kernel's random source failed: load_or_create_instance_id reports it
    got += static_cast<std::size_t>(n);
  }
  return id;
}

std::string id_to_hex(const std::string& id) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : id) {
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 15]);
  }
  return hex;
}

result<instance_id_result> load_or_create_instance_id(file_system& fs, const std::string& data_dir,
                                                      std::uint64_t journal_base,
                                                      const std::function<std::string()>& make_id) {
  const std::string path = data_dir + "/instance_id";
  instance_id_result out;
  if (fs.exists(path)) {
    auto text = fs.read_file(path);
    if (!text)
      return text.error();
    auto p = parse(*text);
    if (!p)
      return status{errc::corruption, path + ": not '<32 lowercase hex digits> <journal base>\\n'; move it away to "
                                        "give this data dir a new identity"};
    if (p->base == journal_base) {
      out.id = std::move(p->id);
      return out;
    }
    out.note = "the journal base changed from " + std::to_string(p->base) + " to " + std::to_string(journal_base)
               + " (a new journal): new instance id";
  } else {
    out.note = "no instance_id file: new instance id";
  }
  out.id = make_id();
  if (out.id.size() != id_size) // never an id shorter than its 16 bytes (nor an abort): the node does not start
    return status{errc::io_error, path + ": cannot make a new instance id: the kernel's random source (getrandom) "
                                          "gave no 16 random bytes"};
  out.created = true;
  if (auto s = fs.write_file_atomic(path, id_to_hex(out.id) + " " + std::to_string(journal_base) + "\n"); !s.ok())
    return s;
  return out;
}

} // namespace tandem::journal
