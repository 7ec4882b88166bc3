// The reload decision (config/reload.hpp): invalid, refused, unchanged or applied, and what is
// logged and returned for each. Also config_source: the config read again as at startup.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "config/reload.hpp"
#include "config_test_support.hpp"

using namespace tandem::config;
using namespace tandem::config::test;

namespace {

node_config running() {
  auto r = parse_config(with_destination(destination("B")));
  REQUIRE(r.ok());
  return *r.config;
}

loaded_config loaded(const json& doc) {
  loaded_config l;
  l.source = "node.json";
  l.result = parse_config(doc);
  return l;
}

} // namespace

TEST_CASE("reload: the same config is unchanged") {
  auto v = decide_reload(running(), loaded(with_destination(destination("B"))));
  CHECK(v.result == reload_result::unchanged);
  CHECK(v.summary() == "config reload: the config is unchanged; nothing to apply");
  CHECK(v.to_json()["result"] == "unchanged");
}

TEST_CASE("reload: a live change is applied") {
  auto doc = with_destination(destination("B"));
  doc["journal"] = {{"startup_check", "tail"}};
  auto v = decide_reload(running(), loaded(doc));
  CHECK(v.result == reload_result::applied);
  CHECK(v.summary() == "config reload applied 1 change(s): journal.startup_check: \"full\" -> \"tail\" (live)");
  CHECK(v.to_json()["changes"][0]["new"] == "tail");
}

TEST_CASE("reload: a name change is refused, naming the path, and nothing of it is applied") {
  auto doc = with_destination(destination("B"));
  doc["name"] = "A2";
  doc["group"] = "A";
  doc["journal"] = {{"startup_check", "tail"}}; // live on its own, refused with the rest
  auto v = decide_reload(running(), loaded(doc));
  CHECK(v.result == reload_result::refused);
  CHECK(v.summary().rfind("config reload refused, running config kept: a restart is required for name (", 0) == 0);
  auto j = v.to_json();
  CHECK(j["result"] == "refused");
  CHECK(j["restart_required"] == json::array({"name"}));
  CHECK(j["changes"].size() == 2);
}

TEST_CASE("reload: an invalid config is refused with every error by path") {
  auto doc = with_destination(destination("B"));
  doc["admin"] = {{"port", 70000}};
  doc["limits"] = {{"max_frame_bytes", "x"}};
  auto v = decide_reload(running(), loaded(doc));
  CHECK(v.result == reload_result::invalid);
  REQUIRE(v.errors.size() == 2);
  CHECK(v.errors[0].rfind("node.json: ", 0) == 0);
  CHECK(v.summary().find("admin.port") != std::string::npos);
  CHECK(v.summary().find("limits.max_frame_bytes") != std::string::npos);
  CHECK(v.to_json()["changes"].empty());
}

TEST_CASE("reload: an unreadable file or a refused --set is invalid, with the problem") {
  loaded_config l;
  l.problem = "cannot read config file /nonexistent";
  auto v = decide_reload(running(), l);
  CHECK(v.result == reload_result::invalid);
  CHECK(v.errors == std::vector<std::string>{"cannot read config file /nonexistent"});
}

TEST_CASE("config_source: the file read again with the same overrides") {
  auto dir = std::filesystem::temp_directory_path() / ("tandem-reload-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = (dir / "node.json").string();
  std::ofstream{file} << with_destination(destination("B")).dump();
  auto l = load_config_source({file, {"admin.port=0"}, "host"});
  REQUIRE(l.ok());
  CHECK(l.result.config->admin.port == 0);
  CHECK(l.source == file);
  auto bad = load_config_source({file, {"admin.port"}, "host"});
  CHECK_FALSE(bad.ok());
  CHECK(bad.problem.rfind("--set ", 0) == 0);
  auto missing = load_config_source({(dir / "none.json").string(), {}, "host"});
  CHECK(missing.problem == "cannot read config file " + (dir / "none.json").string());
  std::ofstream{file} << "{";
  CHECK_FALSE(load_config_source({file, {}, "host"}).result.errors.empty());
  auto embedded = load_config_source({"", {"name=H"}, "host"});
  REQUIRE(embedded.ok());
  CHECK(embedded.result.config->group == "H");
  CHECK(embedded.source == "default config");
  std::filesystem::remove_all(dir);
}

TEST_CASE("loaded_config survives its JSON form (how the loader hands it to the supervisor)") {
  auto ok = loaded(with_destination(destination("B")));
  auto back = loaded_config_from_json(json::parse(to_json(ok).dump()));
  REQUIRE(back.ok());
  CHECK(*back.result.config == *ok.result.config);
  CHECK(back.source == "node.json");
  auto doc = minimal();
  doc["admin"] = {{"port", 70000}};
  auto bad = loaded_config_from_json(json::parse(to_json(loaded(doc)).dump()));
  CHECK_FALSE(bad.ok());
  REQUIRE(bad.result.errors.size() == 1);
  CHECK(bad.result.errors[0].path == "admin.port");
  loaded_config problem;
  problem.problem = "cannot read config file x";
  CHECK(loaded_config_from_json(json::parse(to_json(problem).dump())).problem == "cannot read config file x");
  CHECK(loaded_config_from_json(json::array()).problem == "internal: not a loaded config");
}

// Issue 21: which destinations' actors an applied reload stops, starts or restarts.
TEST_CASE("plan_destinations: removed, added, restarted by field; addresses and reconnect restart nothing") {
  auto running_doc = with_destinations(json::array({destination("B"), destination("C"), destination("E")}));
  auto next_doc = running_doc;
  next_doc["destinations"].erase(1);                               // C removed
  next_doc["destinations"][0]["topics"] = "orders\\..*";           // B restarted
  next_doc["destinations"][1]["addresses"] = json::array({"127.0.0.1:9"}); // E: cycler only
  next_doc["destinations"][1]["reconnect"] = {{"max_ms", 500}};
  next_doc["destinations"].push_back(destination("D"));            // D added
  auto run = parse_config(running_doc);
  auto next = parse_config(next_doc);
  REQUIRE(run.ok());
  REQUIRE(next.ok());
  const auto d = diff(*run.config, *next.config);
  REQUIRE(d.reloadable());
  const auto plan = plan_destinations(d, *next.config);
  CHECK(plan.removed == std::vector<std::string>{"C"});
  REQUIRE(plan.restarted.size() == 1);
  CHECK(plan.restarted[0].name == "B");
  CHECK(plan.restarted[0].topics == "orders\\..*");
  REQUIRE(plan.added.size() == 1);
  CHECK(plan.added[0].name == "D");
  CHECK(plan_destinations(diff(*run.config, *run.config), *run.config).empty());
  auto accept_only = running_doc;
  accept_only["destinations"][2]["addresses"] = json::array(); // E: no cycler any more
  auto emptied = parse_config(accept_only);
  REQUIRE(emptied.ok());
  const auto to_accept_only = plan_destinations(diff(*run.config, *emptied.config), *emptied.config);
  REQUIRE(to_accept_only.restarted.size() == 1);
  CHECK(to_accept_only.restarted[0].name == "E");
  const auto back = plan_destinations(diff(*emptied.config, *run.config), *run.config);
  REQUIRE(back.restarted.size() == 1);
  CHECK(back.restarted[0].name == "E");
}
