// UTF-8 validation for text that arrives on the wire (names, topics, reasons). Text that is not
// well-formed UTF-8 must never get further than the decoder: it ends up in JSON (status, metrics
// labels), where nlohmann::json's dump() throws on it, in RE2 matching, and in log lines.
//
// Well-formed means exactly the byte sequences of the Unicode standard, table 3-7:
//
//   U+0000..U+007F     00..7F
//   U+0080..U+07FF     C2..DF  80..BF
//   U+0800..U+0FFF     E0      A0..BF  80..BF
//   U+1000..U+CFFF     E1..EC  80..BF  80..BF
//   U+D000..U+D7FF     ED      80..9F  80..BF      (ED A0..BF would be a surrogate)
//   U+E000..U+FFFF     EE..EF  80..BF  80..BF
//   U+10000..U+3FFFF   F0      90..BF  80..BF  80..BF
//   U+40000..U+FFFFF   F1..F3  80..BF  80..BF  80..BF
//   U+100000..U+10FFFF F4      80..8F  80..BF  80..BF
//
// so overlong forms (C0, C1, E0 80..9F, F0 80..8F), surrogates (U+D800..U+DFFF), code points
// above U+10FFFF (F4 90.., F5..FF) and stray or missing continuation bytes are all refused.
// U+0000 is well-formed UTF-8; rules that refuse control characters do so separately (names.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace tandem::protocol::utf8 {

// The offset of the first byte that does not start a well-formed sequence (for an incomplete
// sequence at the end: where it starts), or nullopt when all of `s` is well-formed. Linear, no
// allocation.
std::optional<std::size_t> first_invalid(std::string_view s) noexcept;

inline bool is_valid(std::string_view s) noexcept { return !first_invalid(s); }

} // namespace tandem::protocol::utf8
