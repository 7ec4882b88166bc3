// The subscriber's bookmark file (client/bookmark.hpp) over arbitrary text: a damaged file is an
// error naming the line, never a silently empty or partial bookmark; an accepted one formats and
// parses back to an equal bookmark.
#include <cstddef>
#include <cstdint>
#include <string>

#include "client/bookmark.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace tandem::client;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_bookmark_file(text);
  FUZZ_CHECK(parsed.value.has_value() == parsed.error.empty(), "either a bookmark or an error");
  if (!parsed.value)
    return 0;
  auto again = parse_bookmark_file(format_bookmark_file(*parsed.value));
  FUZZ_CHECK(again.value.has_value(), "a formatted bookmark does not parse");
  FUZZ_CHECK(*again.value == *parsed.value, "format + parse changed the bookmark");
  return 0;
}
