// destinations[i].compression and compression_level (issue 20): the algorithm by name, the level
// within the algorithm's range (protocol/compression.hpp), checked at both ends of each range.
#include <doctest/doctest.h>

#include "config/parse.hpp"
#include "config_test_support.hpp"

using namespace tandem::config;
using namespace tandem::config::test;

namespace {

json compressed(const char* algorithm) {
  auto d = destination();
  d["compression"] = algorithm;
  return d;
}

} // namespace

TEST_CASE("compression defaults to none without a level") {
  auto result = parse_config(with_destination(destination()));
  REQUIRE(result.ok());
  CHECK(result.config->destinations[0].compression == "none");
  CHECK(result.config->destinations[0].compression_level == 0);
}

TEST_CASE("compression lz4 and zstd take their default level when none is given") {
  for (auto [name, level] : {std::pair{"lz4", 1u}, std::pair{"zstd", 3u}}) {
    CAPTURE(name);
    auto result = parse_config(with_destination(compressed(name)));
    REQUIRE(result.ok());
    CHECK(result.config->destinations[0].compression == name);
    CHECK(result.config->destinations[0].compression_level == level);
  }
}

TEST_CASE("compression_level is kept at both ends of each algorithm's range") {
  for (auto [name, level] : {std::pair{"lz4", 1u}, std::pair{"lz4", 12u}, std::pair{"zstd", 1u}, std::pair{"zstd", 19u}}) {
    CAPTURE(name);
    CAPTURE(level);
    auto d = compressed(name);
    d["compression_level"] = level;
    auto result = parse_config(with_destination(d));
    REQUIRE(result.ok());
    CHECK(result.config->destinations[0].compression_level == level);
  }
}

TEST_CASE("compression_level one past either end of the range is an error naming its path") {
  auto d = compressed("lz4");
  d["compression_level"] = 13;
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].compression_level", "must be at most 12, got 13");
  d["compression_level"] = 0;
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].compression_level", "must be at least 1, got 0");
  d = compressed("zstd");
  d["compression_level"] = 20;
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].compression_level", "must be at most 19, got 20");
  d["compression_level"] = 0;
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].compression_level", "must be at least 1, got 0");
  d["compression_level"] = -1;
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].compression_level", "must be at least 1, got -1");
}

TEST_CASE("an unknown algorithm, or a level without an algorithm, is an error naming its path") {
  CHECK_SINGLE_ERROR(with_destination(compressed("gzip")), "destinations[0].compression",
                     "expected \"none\", \"lz4\" or \"zstd\", got \"gzip\"");
  auto d = destination();
  d["compression_level"] = 3;
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].compression_level",
                     "set without a compression (\"lz4\" or \"zstd\")");
  d["compression_level"] = 0; // what the normalized config says for none
  CHECK(parse_config(with_destination(d)).ok());
}

TEST_CASE("the normalized config shows compression and its level") {
  auto result = parse_config(with_destination(compressed("zstd")));
  REQUIRE(result.ok());
  auto j = to_json(*result.config);
  CHECK(j["destinations"][0]["compression"] == "zstd");
  CHECK(j["destinations"][0]["compression_level"] == 3);
}
