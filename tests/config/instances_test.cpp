// destinations[i].instances (issue 17 part 2): the instance names that may serve a destination.
#include <doctest/doctest.h>

#include "config/parse.hpp"
#include "config_test_support.hpp"

using namespace tandem::config;
using namespace tandem::config::test;

namespace {

json group_destination(json instances, const std::string& name = "B") {
  auto d = destination(name);
  d["instances"] = std::move(instances);
  return d;
}

json names(std::size_t n) {
  auto list = json::array();
  for (std::size_t i = 1; i <= n; ++i)
    list.push_back("B" + std::to_string(i));
  return list;
}

} // namespace

TEST_CASE("instances default to the destination's name") {
  auto result = parse_config(with_destination(destination()));
  REQUIRE(result.ok());
  CHECK(result.config->destinations[0].instances == std::vector<std::string>{"B"});
}

TEST_CASE("instances are kept as written") {
  auto result = parse_config(with_destination(group_destination({"B1", "B2"})));
  REQUIRE(result.ok());
  const auto& d = result.config->destinations[0];
  CHECK(d.name == "B");
  CHECK(d.instances == std::vector<std::string>{"B1", "B2"});
  CHECK(to_json(*result.config)["destinations"][0]["instances"] == nlohmann::ordered_json{"B1", "B2"});
}

TEST_CASE("instances: 16 names are accepted, 17 and none are rejected naming the key") {
  CHECK(parse_config(with_destination(group_destination(names(max_destination_instances)))).ok());
  CHECK_SINGLE_ERROR(with_destination(group_destination(names(max_destination_instances + 1))),
                     "destinations[0].instances", "must list 1 to 16 instance names, got 17");
  CHECK_SINGLE_ERROR(with_destination(group_destination(json::array())), "destinations[0].instances",
                     "must list 1 to 16 instance names, got 0");
  CHECK_SINGLE_ERROR(with_destination(group_destination("B1")), "destinations[0].instances",
                     "expected an array");
}

TEST_CASE("instances: a name outside the naming rule, at 64 and 65 characters, or not a string is rejected at its index") {
  CHECK(parse_config(with_destination(group_destination({"B1", std::string(64, 'b')}))).ok());
  CHECK_SINGLE_ERROR(with_destination(group_destination({"B1", std::string(65, 'b')})),
                     "destinations[0].instances[1]", "must be 1 to 64 characters");
  CHECK_SINGLE_ERROR(with_destination(group_destination({"B 1"})), "destinations[0].instances[0]",
                     "must be 1 to 64 characters");
  CHECK_SINGLE_ERROR(with_destination(group_destination({"B1", 7})), "destinations[0].instances[1]",
                     "expected a string");
}

TEST_CASE("instances: a name twice in the list is rejected") {
  CHECK_SINGLE_ERROR(with_destination(group_destination({"B1", "B2", "B1"})), "destinations[0].instances[2]",
                     "duplicate instance \"B1\"");
}

TEST_CASE("instances: an instance in two destinations is rejected at the second") {
  auto doc = with_destinations(json::array({group_destination({"B1", "B2"}), group_destination({"C1", "B2"}, "C")}));
  CHECK_SINGLE_ERROR(doc, "destinations[1].instances[1]", "instance \"B2\" already serves destinations[0]");
  // A destination without a list is its own name: listing that name elsewhere is the same conflict.
  auto by_name = with_destinations(json::array({destination("C"), group_destination({"B1", "C"})}));
  CHECK_SINGLE_ERROR(by_name, "destinations[1].instances[1]", "instance \"C\" already serves destinations[0]");
}

TEST_CASE("instances: this node's own name is rejected") {
  CHECK_SINGLE_ERROR(with_destination(group_destination({"B1", "A"})), "destinations[0].instances[1]",
                     "\"A\" is this node's own name");
}

TEST_CASE("instances: duplicate destination names stay one error") {
  auto doc = with_destinations(json::array({destination("B"), destination("B")}));
  CHECK_SINGLE_ERROR(doc, "destinations[1].name", "duplicate destination \"B\"");
}

TEST_CASE("instances: an instance named like another destination is rejected (one name, one destination)") {
  auto doc = with_destinations(json::array({group_destination({"B1", "C"}), group_destination({"C1", "C2"}, "C")}));
  CHECK_SINGLE_ERROR(doc, "destinations[0].instances[1]", "instance \"C\" is the name of destination destinations[1]");
}
