// destinations[i].validation and skip_validation (issue 17 part 3, replication validation), and
// the pattern limits the validation frame needs (protocol/limits.hpp).
#include <string>

#include <doctest/doctest.h>

#include "config/parse.hpp"
#include "config_test_support.hpp"
#include "protocol/limits.hpp"

using namespace tandem::config;
using namespace tandem::config::test;

TEST_CASE("validation defaults to strict with nothing skipped") {
  auto result = parse_config(with_destination(destination()));
  REQUIRE(result.ok());
  CHECK(result.config->destinations[0].validation == validation_mode::strict);
  CHECK(result.config->destinations[0].skip_validation.empty());
}

TEST_CASE("validation warn and a skip list are read") {
  auto d = destination();
  d["validation"] = "warn";
  d["skip_validation"] = json::array({"topics", "passthrough"});
  auto result = parse_config(with_destination(d));
  REQUIRE(result.ok());
  CHECK(result.config->destinations[0].validation == validation_mode::warn);
  CHECK(result.config->destinations[0].skip_validation == std::vector<std::string>{"topics", "passthrough"});
}

TEST_CASE("validation other than strict or warn is a config error naming the path") {
  auto d = destination();
  d["validation"] = "lenient";
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].validation", "expected \"strict\" or \"warn\"");
}

TEST_CASE("skip_validation: an unknown check name is a config error naming the path") {
  auto d = destination();
  d["skip_validation"] = json::array({"topics", "topic"});
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].skip_validation[1]", "unknown validation check \"topic\"");
}

TEST_CASE("skip_validation: identity cannot be skipped, a check is listed once") {
  auto d = destination();
  d["skip_validation"] = json::array({"identity"});
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].skip_validation[0]", "cannot be skipped");
  d["skip_validation"] = json::array({"group", "group"});
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].skip_validation[1]", "duplicate check \"group\"");
  d["skip_validation"] = json::array({7});
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].skip_validation[0]", "expected a string");
}

TEST_CASE("a topics pattern at the pattern limit is accepted, one byte more is refused") {
  auto d = destination();
  d["topics"] = std::string(tandem::protocol::limits::max_pattern_bytes, 'a');
  CHECK(parse_config(with_destination(d)).ok());
  d["topics"] = std::string(tandem::protocol::limits::max_pattern_bytes + 1, 'a');
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].topics", "exceeds the maximum of 4096");
}

TEST_CASE("passthrough: at most max_passthrough_patterns patterns") {
  auto d = destination();
  d["passthrough"] = json::array();
  for (std::size_t i = 0; i < tandem::protocol::limits::max_passthrough_patterns; ++i)
    d["passthrough"].push_back("G" + std::to_string(i));
  CHECK(parse_config(with_destination(d)).ok());
  d["passthrough"].push_back("one-more");
  CHECK_SINGLE_ERROR(with_destination(d), "destinations[0].passthrough", "at most 64 patterns, got 65");
}
