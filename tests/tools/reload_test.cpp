// Live reload of a real tandemd (issue 21 part 1): `tandemd --check-config FILE --diff RUNNING`,
// POST /config/reload and SIGHUP. What an operator observes: the exit code and lines of the
// diff, the HTTP status and JSON verdict, the log line, /status, and the partner's journal.
#include <atomic>
#include <csignal>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/tools/publish_fixture.hpp"

using namespace tandem::test;
using namespace std::chrono_literals;

namespace {

// Rewrites the node's config file through `edit`.
void edit_config(const test_node& n, const std::function<void(nlohmann::json&)>& edit) {
  auto c = nlohmann::json::parse(read_file(n.config_file()));
  edit(c);
  write_file(n.config_file(), c.dump(2));
}

tandem::client::http_result post_reload(const test_node& n) {
  return tandem::client::http_call("POST", "127.0.0.1", n.ports().admin, "/config/reload", 5000ms);
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
    ++count;
  return count;
}

} // namespace

TEST_CASE("check-config --diff shows what a reload would change, and whether it would apply") {
  temp_dir dir;
  const auto running = dir / "running.json", next = dir / "next.json";
  nlohmann::json c = {{"name", "A"}, {"data_dir", dir / "data"}};
  write_file(running, c.dump());
  write_file(next, c.dump());
  auto same = run({tandemd_path(), "--check-config", next, "--diff", running});
  CHECK(same.exit_code == 0);
  CHECK(same.out == "no change: a reload would do nothing\n");

  c["journal"] = {{"startup_check", "tail"}};
  write_file(next, c.dump());
  auto live = run({tandemd_path(), "--check-config", next, "--diff", running});
  CHECK(live.exit_code == 0);
  CHECK(live.out == "journal.startup_check: \"full\" -> \"tail\" (live)\na reload would apply 1 change(s)\n");

  auto renamed = run({tandemd_path(), "--check-config", next, "--set", "name=B", "--diff", running});
  CHECK(renamed.exit_code == 1);
  CHECK(renamed.out.find("name: \"A\" -> \"B\" (restart_required)\n") != std::string::npos);
  CHECK(renamed.out.find("a reload would be refused: a restart is required for 2 change(s)") != std::string::npos);

  write_file(running, "{\"name\": 5}");
  auto invalid = run({tandemd_path(), "--check-config", next, "--diff", running});
  CHECK(invalid.exit_code == 2);
  CHECK(invalid.err.find(running + ": name") != std::string::npos);

  auto usage = run({tandemd_path(), "--diff", running});
  CHECK(usage.exit_code == 2);
  CHECK(usage.err.find("--diff needs --check-config FILE") != std::string::npos);
}

TEST_CASE("a refused reload (name) keeps the running config and says why, in the log and the POST answer") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_pair(a, b);
  edit_config(a, [](nlohmann::json& c) { c["name"] = "A2"; });
  auto r = post_reload(a);
  REQUIRE(r.ok);
  CHECK(r.status == 409);
  auto verdict = nlohmann::json::parse(r.body);
  CHECK(verdict["result"] == "refused");
  CHECK(verdict["restart_required"] == nlohmann::json::array({"name", "group"}));
  CHECK(verdict["changes"][0]["old"] == "A");
  CHECK(verdict["changes"][0]["new"] == "A2");
  CHECK(wait_until([&] { return a.log().find("config reload refused, running config kept: a restart is required for name, group") != std::string::npos; }, 10s));
  auto status = a.status();
  CHECK(status["name"] == "A");
  CHECK(status["config_reloads"]["by_result"]["refused"] == 1);
  // Still the same node, replicating as before.
  auto pub = publish_n(a, "p1", 50);
  CHECK(pub.error.empty());
  CHECK(pub.persisted == 50);

  edit_config(a, [](nlohmann::json& c) { c["name"] = "A"; c["journal"] = {{"startup_check", "tail"}}; });
  auto applied = post_reload(a);
  CHECK(applied.status == 200);
  CHECK(nlohmann::json::parse(applied.body)["result"] == "applied");
  CHECK(a.status()["config_reloads"]["by_result"]["applied"] == 1);

  const auto valid = read_file(a.config_file());
  write_file(a.config_file(), "{\"name\": ");
  auto invalid = post_reload(a);
  CHECK(invalid.status == 422);
  auto why = nlohmann::json::parse(invalid.body);
  CHECK(why["result"] == "invalid");
  REQUIRE(why["errors"].size() == 1);
  CHECK(why["errors"][0].get<std::string>().find(a.config_file() + ": <root>") == 0);

  // log_level is live: at "error", the next verdict (logged at info) is no longer written.
  write_file(a.config_file(), valid);
  edit_config(a, [](nlohmann::json& c) { c["log_level"] = "error"; });
  auto quiet = post_reload(a);
  CHECK(quiet.status == 200);
  CHECK(nlohmann::json::parse(quiet.body)["changes"][0]["path"] == "log_level");
  auto unchanged = post_reload(a);
  CHECK(nlohmann::json::parse(unchanged.body)["result"] == "unchanged");
  CHECK(a.log().find("config reload: the config is unchanged") == std::string::npos);

  // A body is not parsed (the parser stops at the head; reads are at most 4 KiB): it changes nothing.
  auto with_body = poke(a.ports().admin,
                        "POST /config/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x'),
                        5000ms);
  REQUIRE(with_body.has_value());
  CHECK(with_body->rfind("HTTP/1.1 200", 0) == 0);
  CHECK(with_body->find("\"result\":\"unchanged\"") != std::string::npos);

  auto get = tandem::client::http_call("GET", "127.0.0.1", a.ports().admin, "/config/reload", 5000ms);
  CHECK(get.status == 405);
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

TEST_CASE("SIGHUP during a publish storm loses and duplicates nothing") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_pair(a, b);
  std::atomic<bool> done{false};
  publish_result pub;
  std::thread publisher([&] {
    pub = publish_n(a, "storm", 20000, publish_spec{256, 200});
    done = true;
  });
  // Reload after reload while the publisher runs: each one applied (journal.startup_check flips).
  int reloads = 0;
  while (!done && reloads < 20) {
    const bool tail = reloads % 2 == 0;
    edit_config(a, [&](nlohmann::json& c) { c["journal"] = {{"startup_check", tail ? "tail" : "full"}}; });
    a.signal(SIGHUP);
    ++reloads;
    REQUIRE(wait_until([&] { return occurrences(a.log(), "config reload applied") == static_cast<std::size_t>(reloads); },
                       10s));
  }
  publisher.join();
  CHECK(reloads >= 1);
  REQUIRE(pub.error.empty());
  REQUIRE(pub.persisted == 20000);
  // Every acked message reaches B once: wait until B holds them, then read its journal.
  REQUIRE(wait_until([&] { return b.durable_seq() >= 20000; }, 60s));
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  auto counts = count_by_origin(b.journal_records());
  std::size_t from_a = 0;
  for (const auto& [key, n] : counts) {
    if (key.first != "A")
      continue;
    ++from_a;
    CHECK(n == 1);
  }
  CHECK(from_a == 20000);
  CHECK(occurrences(a.log(), "config reload refused") == 0);
}

TEST_CASE("a destination's addresses change live: the node dials the new address, no restart") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  b.configure({{destination_spec{"A", "async", false, {}}, &a}}); // accept-only: only A dials
  a.configure({{destination_spec{"B", "async", true, {}}, &b}});
  const auto nowhere = "127.0.0.1:" + std::to_string(free_port());
  edit_config(a, [&](nlohmann::json& c) { c["destinations"][0]["addresses"] = nlohmann::json::array({nowhere}); });
  a.start();
  b.start();
  auto pub = publish_n(a, "p1", 100);
  REQUIRE(pub.persisted == 100);
  const auto pid = a.status()["pid"];
  edit_config(a, [&](nlohmann::json& c) {
    c["destinations"][0]["addresses"] = nlohmann::json::array({"127.0.0.1:" + std::to_string(b.ports().replication)});
  });
  auto r = post_reload(a);
  REQUIRE(r.status == 200);
  auto verdict = nlohmann::json::parse(r.body);
  CHECK(verdict["result"] == "applied");
  CHECK(verdict["changes"][0]["path"] == "destinations[name=B].addresses");
  CHECK(verdict["changes"][0]["old"] == nlohmann::json::array({nowhere}));
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B"); }, 20s), a.log());
  CHECK(wait_until([&] { return b.durable_seq() >= 100; }, 20s));
  CHECK(a.status()["pid"] == pid);
  CHECK(a.log().find("cycler-B: reloaded: 1 address(es)") != std::string::npos);
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}
