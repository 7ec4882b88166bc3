#include "config/secret_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <sys/stat.h>

namespace tandem::config {

namespace {

using result = std::variant<std::string, std::string>;

result failure(std::string message) { return result{std::in_place_index<1>, std::move(message)}; }

result checked(std::string secret, const std::string& what, std::size_t max_bytes) {
  if (secret.ends_with('\n'))
    secret.pop_back();
  if (secret.ends_with('\r'))
    secret.pop_back();
  if (secret.empty())
    return failure(what + ": empty");
  if (secret.size() > max_bytes)
    return failure(what + ": longer than " + std::to_string(max_bytes) + " bytes");
  return result{std::in_place_index<0>, std::move(secret)};
}

} // namespace

result read_secret_file(const std::string& file, std::size_t max_bytes, world_readable rule) {
  const std::string what = "secret file \"" + file + "\"";
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    return failure(what + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return failure(what + ": not a regular file");
  if (rule == world_readable::refused && (st.st_mode & S_IROTH) != 0)
    return failure(what + ": readable by every user (mode " + std::to_string((st.st_mode >> 6) & 7) +
                   std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                   "); chmod o-r (e.g. 600) it");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes + 2)
    return failure(what + ": longer than " + std::to_string(max_bytes) + " bytes");
  std::ifstream in{file, std::ios::binary};
  if (!in)
    return failure(what + ": " + std::strerror(errno));
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  return checked(std::move(text), what, max_bytes);
}

result read_secret_line(std::istream& in, std::size_t max_bytes) {
  std::string line;
  // Read at most max_bytes + 2 characters so that a huge stdin costs no more than that.
  for (char c; line.size() <= max_bytes + 1 && in.get(c);) {
    line.push_back(c);
    if (c == '\n')
      break;
  }
  return checked(std::move(line), "the password on stdin", max_bytes);
}

} // namespace tandem::config
