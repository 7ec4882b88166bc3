// The config parser (config/parse.hpp) over arbitrary text: never throws, never crashes, reports
// errors as values; an accepted config normalizes (to_json) to a document that parses again to
// an equal config.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/parse.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace tandem::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = parse_config_text(std::string_view{reinterpret_cast<const char*>(data), size});
  FUZZ_CHECK(parsed.ok() == parsed.errors.empty(), "config present exactly when there are no errors");
  for (const auto& e : parsed.errors)
    FUZZ_CHECK(!e.path.empty() && !e.message.empty(), "an error without a path or a message");
  if (!parsed.ok())
    return 0;
  auto again = parse_config_text(to_json(*parsed.config).dump());
  FUZZ_CHECK(again.ok(), "the normalized document of an accepted config is refused");
  FUZZ_CHECK(*again.config == *parsed.config, "normalizing changed the config");
  return 0;
}
