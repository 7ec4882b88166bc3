#include <doctest/doctest.h>

#include "config/overrides.hpp"
#include "config/parse.hpp"

using tandem::config::apply_override;
using nlohmann::json;

TEST_CASE("override sets nested values and parses JSON when it can") {
  json doc = {{"name", "A"}, {"destinations", json::array({{{"name", "B"}}})}};
  CHECK(apply_override(doc, "admin.port=0") == std::nullopt);
  CHECK(apply_override(doc, "destinations[0].sync_type=async") == std::nullopt);
  CHECK(apply_override(doc, "data_dir=/tmp/a") == std::nullopt);
  CHECK(doc["admin"]["port"] == 0);
  CHECK(doc["destinations"][0]["sync_type"] == "async");
  CHECK(doc["data_dir"] == "/tmp/a");
}

TEST_CASE("override with a bad assignment or a missing array element is refused") {
  json doc = {{"destinations", json::array()}};
  CHECK(apply_override(doc, "admin.port") != std::nullopt);
  CHECK(apply_override(doc, "=1") != std::nullopt);
  CHECK(apply_override(doc, "destinations[0].name=B") != std::nullopt);
  CHECK(apply_override(doc, "destinations[x].name=B") != std::nullopt);
}

TEST_CASE("an overridden value is validated like the file") {
  json doc = {{"name", "A"}, {"data_dir", "d"}};
  REQUIRE(apply_override(doc, "journal.sync=sometimes") == std::nullopt);
  auto result = tandem::config::parse_config(doc);
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].path == "journal.sync");
}
