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

// Issue 21: `tandemd --set name=H` on the embedded default left the group as the host name.
TEST_CASE("set name on the embedded default also sets the defaulted group") {
  struct row {
    std::vector<std::string> sets;
    bool group_defaulted;
    std::string name, group;
  };
  const row rows[] = {
    {{"name=H"}, true, "H", "H"},                 // the default's group follows the name
    {{"name=H", "group=G"}, true, "H", "G"},      // unless the group is set too
    {{"group=G", "name=H"}, true, "H", "G"},      // in either order
    {{"admin.port=0"}, true, "host", "host"},     // no name: the group stays
    {{"name=H"}, false, "H", "host"},             // a config file's group is its own
  };
  for (const auto& r : rows) {
    json doc = {{"name", "host"}, {"group", "host"}};
    CAPTURE(r.sets.front());
    REQUIRE(tandem::config::apply_overrides(doc, r.sets, r.group_defaulted) == std::nullopt);
    CHECK(doc["name"] == r.name);
    CHECK(doc["group"] == r.group);
  }
}

TEST_CASE("apply_overrides names the assignment that failed") {
  json doc = json::object();
  auto problem = tandem::config::apply_overrides(doc, {"admin.port=1", "admin.port"}, true);
  REQUIRE(problem);
  CHECK(*problem == "admin.port: expected PATH=VALUE, got 'admin.port'");
}
