// The live-reload rule (config/config_diff.hpp, docs/config.md "Live reload"): what changed, path
// by path, and which changes a reload applies or must refuse.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/config_diff.hpp"
#include "config/parse.hpp"
#include "config_test_support.hpp"

using namespace tandem::config;
using namespace tandem::config::test;

namespace {

node_config parsed(const json& doc) {
  auto r = parse_config(doc);
  REQUIRE(r.ok());
  return *r.config;
}

node_config base() {
  return parsed(with_destinations(json::array({destination("B"), destination("C")})));
}

// One row of the classification table: a mutation of base_doc() and the one change it makes.
struct row {
  const char* what;
  json (*mutate)(json);
  std::string path;
  change_kind kind;
};

json base_doc() { return with_destinations(json::array({destination("B"), destination("C")})); }

} // namespace

TEST_CASE("an identical config is no change and reloadable") {
  auto d = diff(base(), base());
  CHECK(d.empty());
  CHECK(d.reloadable());
  CHECK(d.refused_paths().empty());
}

TEST_CASE("each key is classified live or restart_required") {
  const std::vector<row> rows = {
    {"name", [](json j) { j["name"] = "A2"; j["group"] = "A"; return j; }, "name", change_kind::restart_required},
    {"group", [](json j) { j["group"] = "G"; return j; }, "group", change_kind::restart_required},
    {"data_dir", [](json j) { j["data_dir"] = "/x"; return j; }, "data_dir", change_kind::restart_required},
    {"replication port", [](json j) { j["replication"] = {{"port", 1}}; return j; }, "replication.port",
     change_kind::restart_required},
    {"client address", [](json j) { j["client"] = {{"address", "0.0.0.0"}}; return j; }, "client.address",
     change_kind::restart_required},
    {"admin port", [](json j) { j["admin"] = {{"port", 0}}; return j; }, "admin.port", change_kind::restart_required},
    {"journal sync", [](json j) { j["journal"] = {{"sync", "interval"}}; return j; }, "journal.sync",
     change_kind::restart_required},
    {"journal max_held_bytes", [](json j) { j["journal"] = {{"max_held_bytes", 1ull << 30}}; return j; },
     "journal.max_held_bytes", change_kind::restart_required},
    {"journal send_before_durable", [](json j) { j["journal"] = {{"send_before_durable", false}}; return j; },
     "journal.send_before_durable", change_kind::restart_required},
    {"journal startup_check", [](json j) { j["journal"] = {{"startup_check", "tail"}}; return j; },
     "journal.startup_check", change_kind::live},
    {"log level", [](json j) { j["log_level"] = "debug"; return j; }, "log_level", change_kind::live},
    {"a limit", [](json j) { j["limits"] = {{"max_frame_bytes", 1 << 20}}; return j; }, "limits.max_frame_bytes",
     change_kind::restart_required},
    {"metrics enabled", [](json j) { j["metrics"] = {{"enabled", false}}; return j; }, "metrics.enabled",
     change_kind::restart_required},
    {"topic limit", [](json j) { j["limits"] = {{"max_topic_bytes", 100}}; return j; }, "limits.max_topic_bytes",
     change_kind::live},
    {"subscription limit", [](json j) { j["limits"] = {{"max_subscriptions_per_connection", 2}}; return j; },
     "limits.max_subscriptions_per_connection", change_kind::live},
    {"client idle timeout", [](json j) { j["limits"] = {{"client_idle_timeout_ms", 1000}}; return j; },
     "limits.client_idle_timeout_ms", change_kind::live},
    {"connection buffer", [](json j) { j["limits"] = {{"max_connection_buffer_bytes", 1 << 20}}; return j; },
     "limits.max_connection_buffer_bytes", change_kind::live},
    {"stall after", [](json j) { j["metrics"] = {{"stall_after_ms", 500}}; return j; }, "metrics.stall_after_ms",
     change_kind::live},
    {"connection count", [](json j) { j["limits"] = {{"max_client_connections", 10}}; return j; },
     "limits.max_client_connections", change_kind::restart_required},
    {"destination topics", [](json j) { j["destinations"][0]["topics"] = "orders\\..*"; return j; },
     "destinations[name=B].topics", change_kind::live},
    {"destination sync type", [](json j) { j["destinations"][1]["sync_type"] = "async"; return j; },
     "destinations[name=C].sync_type", change_kind::live},
    {"destination addresses", [](json j) { j["destinations"][0]["addresses"] = json::array({"127.0.0.1:1"}); return j; },
     "destinations[name=B].addresses", change_kind::live},
    {"destination addresses emptied (accept-only)", [](json j) { j["destinations"][0]["addresses"] = json::array(); return j; },
     "destinations[name=B].addresses", change_kind::live}, // its actors restart (plan_destinations)
    {"destination reconnect", [](json j) { j["destinations"][0]["reconnect"] = {{"max_ms", 500}}; return j; },
     "destinations[name=B].reconnect.max_ms", change_kind::live},
    {"destination passthrough", [](json j) { j["destinations"][0]["passthrough"] = json::array({"X"}); return j; },
     "destinations[name=B].passthrough", change_kind::live},
    {"destination downgrade", [](json j) { j["destinations"][0]["downgrade_after_ms"] = 1000; return j; },
     "destinations[name=B].downgrade_after_ms", change_kind::live},
    {"destination instances", [](json j) { j["destinations"][0]["instances"] = json::array({"B", "B2"}); return j; },
     "destinations[name=B].instances", change_kind::restart_required},
    {"destination removed", [](json j) { j["destinations"].erase(1); return j; }, "destinations[name=C]",
     change_kind::live},
    {"destination added", [](json j) { j["destinations"].push_back(destination("D")); return j; },
     "destinations[name=D]", change_kind::live},
    {"destination group", [](json j) { j["destinations"][0]["group"] = "G"; return j; }, "destinations[name=B].group",
     change_kind::restart_required},
    {"destination validation", [](json j) { j["destinations"][0]["validation"] = "warn"; return j; },
     "destinations[name=B].validation", change_kind::restart_required},
  };
  for (const auto& r : rows) {
    const std::string what = r.what;
    CAPTURE(what);
    auto d = diff(base(), parsed(r.mutate(base_doc())));
    REQUIRE(d.changes.size() == 1);
    CHECK(d.changes[0].path == r.path);
    CHECK(d.changes[0].kind == r.kind);
    CHECK(d.reloadable() == (r.kind == change_kind::live));
  }
}

TEST_CASE("reordering destinations is no change: they are matched by name") {
  auto doc = base_doc();
  std::swap(doc["destinations"][0], doc["destinations"][1]);
  CHECK(diff(base(), parsed(doc)).empty());
}

TEST_CASE("the worked example of config_diff.hpp: old and new values, order, refused paths") {
  auto running = parsed(with_destination(destination("B")));
  auto doc = with_destinations(json::array({destination("B"), destination("C")}));
  doc["name"] = "A2";
  doc["journal"] = {{"startup_check", "tail"}};
  doc["destinations"][0]["sync_type"] = "async";
  auto d = diff(running, parsed(doc));
  REQUIRE(d.changes.size() == 5); // name, group (defaults to name), startup_check, B's sync_type, C added
  CHECK(d.changes[0] == config_change{"name", "\"A\"", "\"A2\"", change_kind::restart_required});
  CHECK(d.changes[1] == config_change{"group", "\"A\"", "\"A2\"", change_kind::restart_required});
  CHECK(d.changes[2] == config_change{"journal.startup_check", "\"full\"", "\"tail\"", change_kind::live});
  CHECK(d.changes[3]
        == config_change{"destinations[name=B].sync_type", "\"sync\"", "\"async\"", change_kind::live});
  CHECK(d.changes[4].path == "destinations[name=C]");
  CHECK(d.changes[4].old_value == "null");
  CHECK(d.changes[4].new_value.find("\"name\":\"C\"") != std::string::npos);
  CHECK_FALSE(d.reloadable());
  CHECK(d.refused_paths()
        == std::vector<std::string>{"name", "group"});
  CHECK(describe(d.changes[0]) == "name: \"A\" -> \"A2\" (restart_required)");
  auto j = to_json(d);
  CHECK(j[3]["old"] == "sync");
  CHECK(j[4]["old"].is_null());
  CHECK(j[2]["kind"] == "live");
  CHECK(j[0]["kind"] == "restart_required");
}

TEST_CASE("a removed destination records its old value and null") {
  auto d = diff(base(), parsed(with_destination(destination("B"))));
  REQUIRE(d.changes.size() == 1);
  CHECK(d.changes[0].new_value == "null");
  CHECK(d.changes[0].old_value.find("\"name\":\"C\"") != std::string::npos);
}

TEST_CASE("an accept-only destination that gains addresses is live (its actors restart: it had no cycler)") {
  auto doc = base_doc();
  doc["destinations"][0]["addresses"] = json::array();
  auto running = parsed(doc);
  auto d = diff(running, base());
  REQUIRE(d.changes.size() == 1);
  CHECK(d.changes[0].kind == change_kind::live);
}

TEST_CASE("classify: a key's prefix alone is not the key") {
  CHECK(classify("destinations[name=B].addresses") == change_kind::live);
  CHECK(classify("destinations[name=B].reconnect.jitter") == change_kind::live);
  CHECK(classify("destinations[name=B].topics") == change_kind::live);
  CHECK(classify("destinations[name=B].topicsx") == change_kind::restart_required);
  CHECK(classify("destinations[name=B].instances") == change_kind::restart_required);
  CHECK(classify("destinations[name=B]") == change_kind::live); // added or removed as a whole
  CHECK(classify("destinations") == change_kind::restart_required);
  CHECK(classify("journal.startup_check") == change_kind::live);
  CHECK(classify("journal.startup_checks") == change_kind::restart_required);
  CHECK(classify("journal") == change_kind::restart_required);
}
