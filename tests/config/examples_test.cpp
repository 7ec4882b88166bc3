// The shipped example configs, the normalized output of to_json() and the embedded default.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <tuple>
#include <sstream>

#include "config/parse.hpp"

using namespace tandem::config;

namespace {

node_config load_example(const std::string& file) {
  auto result = load_config_file(TANDEM_SOURCE_DIR "/config/examples/" + file);
  std::string errors = file + ":";
  for (const auto& e : result.errors)
    errors += " " + e.to_string() + ";";
  REQUIRE_MESSAGE(result.ok(), errors);
  return *result.config;
}

// Normalizing, printing and parsing again must give back the same config.
void check_round_trip(const node_config& c) {
  auto normalized = to_json(c);
  auto reparsed = parse_config_text(normalized.dump(2));
  std::string errors = normalized.dump();
  for (const auto& e : reparsed.errors)
    errors += " " + e.to_string() + ";";
  REQUIRE_MESSAGE(reparsed.ok(), errors);
  CHECK(*reparsed.config == c);
  CHECK(to_json(*reparsed.config) == normalized);
}

} // namespace

TEST_CASE("example pair-a.json: A replicates synchronously to B, downgraded after 2 s away") {
  auto c = load_example("pair-a.json");
  CHECK(c.name == "A");
  CHECK(c.group == "A");
  CHECK(c.data_dir == "./tandem-data/A");
  CHECK(c.replication == listener_config{"127.0.0.1", 27110});
  CHECK(c.client == listener_config{"127.0.0.1", 27111});
  CHECK(c.admin == listener_config{"127.0.0.1", 27112});
  REQUIRE(c.destinations.size() == 1);
  CHECK(c.destinations[0].name == "B");
  CHECK(c.destinations[0].type == sync_type::sync);
  CHECK(c.destinations[0].addresses == std::vector<host_port>{{"127.0.0.1", 27120}});
  // The pair keeps acknowledging while its partner is away (issue 16; README, scripts/demo).
  CHECK(c.destinations[0].downgrade_after_ms == 2000);
}

TEST_CASE("example pair-b.json: B replicates synchronously to A, downgraded after 2 s away") {
  auto c = load_example("pair-b.json");
  CHECK(c.name == "B");
  CHECK(c.data_dir == "./tandem-data/B");
  CHECK(c.replication == listener_config{"127.0.0.1", 27120});
  CHECK(c.client == listener_config{"127.0.0.1", 27121});
  CHECK(c.admin == listener_config{"127.0.0.1", 27122});
  REQUIRE(c.destinations.size() == 1);
  CHECK(c.destinations[0].name == "A");
  CHECK(c.destinations[0].type == sync_type::sync);
  CHECK(c.destinations[0].addresses == std::vector<host_port>{{"127.0.0.1", 27110}});
  CHECK(c.destinations[0].downgrade_after_ms == 2000);
}

TEST_CASE("example failover.json: one destination, a group of two servers at two addresses, a custom reconnect") {
  auto c = load_example("failover.json");
  CHECK(c.name == "A");
  REQUIRE(c.destinations.size() == 1);
  const auto& b = c.destinations[0];
  CHECK(b.name == "B");
  CHECK(b.group == "B");
  CHECK(b.instances == std::vector<std::string>{"B1", "B2"});
  CHECK(b.type == sync_type::sync);
  CHECK(b.addresses == std::vector<host_port>{{"127.0.0.1", 27220}, {"127.0.0.1", 27230}});
  CHECK(b.reconnect != reconnect_config{});
  CHECK(b.reconnect.initial_ms <= b.reconnect.max_ms);
}

TEST_CASE("examples failover-b1.json and failover-b2.json: the servers of failover.json's B, each named on its own") {
  auto a = load_example("failover.json");
  for (auto [file, me, other] : {std::tuple{"failover-b1.json", "B1", "B2"}, std::tuple{"failover-b2.json", "B2", "B1"}}) {
    CAPTURE(file);
    auto c = load_example(file);
    CHECK(c.name == me);
    CHECK(c.group == "B");
    // A dials this server at one of its destination's addresses.
    const auto& to_b = a.destinations[0].addresses;
    CHECK(std::find(to_b.begin(), to_b.end(), host_port{"127.0.0.1", c.replication.port}) != to_b.end());
    REQUIRE(c.destinations.size() == 2);
    CHECK(c.destinations[0].name == "A");
    CHECK(c.destinations[0].type == sync_type::sync);
    CHECK(c.destinations[0].addresses == std::vector<host_port>{{"127.0.0.1", a.replication.port}});
    CHECK(c.destinations[1].name == other);
    CHECK(c.destinations[1].type == sync_type::sync);
    CHECK(c.destinations[1].passthrough == std::vector<std::string>{"A"}); // the partner holds A's records too
    check_round_trip(c);
  }
}

TEST_CASE("example accept-only.json: a destination that is never dialled") {
  auto c = load_example("accept-only.json");
  REQUIRE(c.destinations.size() == 1);
  CHECK(c.destinations[0].addresses.empty());
}

TEST_CASE("example accept-only-inside.json: the node inside, which dials the DMZ node of accept-only.json") {
  auto dmz = load_example("accept-only.json");
  auto c = load_example("accept-only-inside.json");
  CHECK(c.name == dmz.destinations[0].name);
  CHECK(c.replication.port != dmz.replication.port);
  REQUIRE(c.destinations.size() == 1);
  CHECK(c.destinations[0].name == dmz.name);
  CHECK(c.destinations[0].type == sync_type::async);
  CHECK(c.destinations[0].addresses == std::vector<host_port>{{"127.0.0.1", dmz.replication.port}});
  CHECK(c.destinations[0].topics == ".*"); // the DMZ's filter decides what comes in; everything goes out
}

TEST_CASE("normalized output of the examples has every field with defaults filled") {
  auto normalized = to_json(load_example("pair-a.json"));
  CHECK(normalized["group"] == "A");
  CHECK(normalized["journal"]["segment_bytes"] == 256ull << 20);
  CHECK(normalized["journal"]["sync"] == "batch");
  CHECK(normalized["limits"]["max_frame_bytes"] == 16u << 20);
  const auto& b = normalized["destinations"][0];
  CHECK(b["group"] == "B");
  CHECK(b["sync_type"] == "sync");
  CHECK(b["addresses"] == nlohmann::ordered_json::array({"127.0.0.1:27120"}));
  CHECK(b["passthrough"] == nlohmann::ordered_json::array());
  CHECK(b["topics"] == ".*");
  CHECK(b["reconnect"]["max_ms"] == 30000);
  CHECK(b["downgrade_after_ms"] == 2000);

  auto dmz = to_json(load_example("accept-only.json"));
  CHECK(dmz["destinations"][0]["addresses"] == nlohmann::ordered_json::array());
  auto failover = to_json(load_example("failover.json"));
  CHECK(failover["destinations"][0]["addresses"] ==
        nlohmann::ordered_json::array({"127.0.0.1:27220", "127.0.0.1:27230"}));
  CHECK(failover["destinations"][0]["downgrade_after_ms"] == 0); // strict sync unless chosen
}

TEST_CASE("normalized output keeps the order of node_config's fields") {
  auto normalized = to_json(default_config("h"));
  std::vector<std::string> keys;
  for (const auto& item : normalized.items())
    keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"name", "group", "data_dir", "replication", "client", "admin", "journal",
                                         "destinations", "limits", "metrics", "log_level", "anti_entropy_interval_s",
                                         "auth"});
}

TEST_CASE("every example round-trips through to_json") {
  for (const char* file :
       {"pair-a.json", "pair-b.json", "failover.json", "failover-b1.json", "failover-b2.json", "accept-only.json",
        "accept-only-inside.json"}) {
    CAPTURE(file);
    check_round_trip(load_example(file));
  }
}

TEST_CASE("non-default values round-trip through to_json") {
  node_config c = default_config("n1");
  c.journal.sync = sync_policy::interval;
  c.journal.retention_min_age_s = 86400;
  c.journal.max_held_bytes = 3ull << 30;
  destination_config d;
  d.name = "v6";
  d.group = "G";
  d.instances = {"v6a", "v6b"};
  d.type = sync_type::async;
  d.addresses = {{"::1", 27100}, {"b.example", 1}};
  d.passthrough = {"C", "D.*"};
  d.topics = "orders\\..*";
  d.reconnect = {7, 7, 1.1, 0.05, 3};
  c.destinations.push_back(d);
  check_round_trip(c);
}

TEST_CASE("default_config is the embedded default and round-trips") {
  auto c = default_config("host-1");
  CHECK(c.name == "host-1");
  CHECK(c.group == "host-1");
  CHECK(c.data_dir == "./tandem-data");
  CHECK(c.replication == listener_config{"127.0.0.1", default_replication_port});
  CHECK(c.client == listener_config{"127.0.0.1", default_client_port});
  CHECK(c.admin == listener_config{"127.0.0.1", default_admin_port});
  CHECK(c.destinations.empty());
  // Retention keeps 7 days of history by default (issue 14, defect 13: 0 removed it at once).
  CHECK(c.journal.retention_min_age_s == 7 * 24 * 3600);
  check_round_trip(c);
}

TEST_CASE("default_config makes a valid name out of any hostname") {
  CHECK(default_config("box.example.com").name == "box.example.com");
  CHECK(default_config("my box").name == "my-box");
  CHECK(default_config("").name == "tandem");
  CHECK(default_config(std::string(100, 'h')).name == std::string(64, 'h'));
  check_round_trip(default_config("weird host/name"));
}

TEST_CASE("the complete file in docs/config.md is the normalized failover.json") {
  std::ifstream in{TANDEM_SOURCE_DIR "/docs/config.md"};
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  auto doc = text.str();
  auto section = doc.find("## A complete file");
  REQUIRE(section != std::string::npos);
  auto begin = doc.find("```json\n", section);
  REQUIRE(begin != std::string::npos);
  begin += 8;
  auto end = doc.find("```", begin);
  REQUIRE(end != std::string::npos);
  auto documented = parse_config_text(doc.substr(begin, end - begin));
  REQUIRE(documented.ok());
  CHECK(*documented.config == load_example("failover.json"));
  CHECK(nlohmann::ordered_json::parse(doc.substr(begin, end - begin)) == to_json(*documented.config));
}
