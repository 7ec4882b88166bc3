// Helpers for the fuzz targets that need files or checksummed records.
#pragma once
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "journal/crc32c.hpp"

namespace tandem::fuzz {

// A directory for the whole fuzzing process (tmpfs when there is one: targets write files on every
// input), removed at exit. Each input clears it first.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* base = std::getenv("TANDEM_FUZZ_TMPDIR");
    std::string root = base ? base : (std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp");
    std::string tmpl = root + "/tandem-fuzz-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr)
      std::abort();
    static struct remover {
      std::string path;
      ~remover() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
      }
    } cleanup{tmpl};
    return tmpl;
  }();
  return dir;
}

inline void clear_dir(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    std::filesystem::remove_all(e.path(), ec);
}

inline void put_u32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    s[at + static_cast<std::size_t>(i)] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Makes `rec` (at least 8 bytes) carry its own size as length and a correct masked CRC32C of
// bytes [4, size): the fuzzer then explores the field checks behind the checksum, which random
// bytes almost never pass.
inline void seal_journal_record(std::string& rec) {
  if (rec.size() < 8)
    return;
  put_u32(rec, 4, static_cast<std::uint32_t>(rec.size()));
  put_u32(rec, 0, journal::crc32c::mask(journal::crc32c::value(rec.data() + 4, rec.size() - 4)));
}

} // namespace tandem::fuzz
