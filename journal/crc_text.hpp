// Small text files that end in a crc line ("extent", "reserve"): the parts their codecs share.
//
//   <lines>
//   crc 1a2b3c4d        masked CRC32C (journal/crc32c.hpp) of all preceding bytes, 8 lowercase hex digits
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "journal/errc.hpp"

namespace tandem::journal {

// Strict unsigned decimal: 1..max_digits digits, nothing else, refused above 2^64 - 1.
std::optional<std::uint64_t> parse_decimal(std::string_view s, std::size_t max_digits);
// The first line of `text` (without its newline), removed from `text`.
std::string_view take_line(std::string_view& text);
// `body` followed by its crc line.
std::string with_crc_line(std::string body);
// The bytes before the last line when it is a crc line matching them; else errc::corruption
// "PATH: missing crc line" / "malformed crc line" / "checksum mismatch".
result<std::string_view> body_before_crc(std::string_view text, const std::string& path);

} // namespace tandem::journal
