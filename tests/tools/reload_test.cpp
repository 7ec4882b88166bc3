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

// ---- Destinations added, removed and changed live (issue 21 part 1) ---------------------------

namespace {

// A's journal.held_back entry for `dest` (null when absent).
nlohmann::json held_back(const test_node& n, const std::string& dest) {
  auto s = n.status();
  if (s.is_object() && s["journal"]["held_back"].is_array())
    for (const auto& h : s["journal"]["held_back"])
      if (h["name"] == dest || h["destination"] == dest)
        return h;
  return nlohmann::json{};
}

nlohmann::json destination_json(const std::string& name, const std::string& sync_type, const test_node& peer) {
  return {{"name", name},
          {"sync_type", sync_type},
          {"addresses", nlohmann::json::array({"127.0.0.1:" + std::to_string(peer.ports().replication)})},
          {"reconnect", {{"initial_ms", 50}, {"max_ms", 500}, {"connect_timeout_ms", 1000}}},
          {"validation", "warn"}};
}

// Joins a publisher thread however the test case ends (a failed REQUIRE unwinds through it), so
// the nodes are stopped by their destructors rather than the process aborting.
struct joined {
  std::thread& t;
  ~joined() {
    if (t.joinable())
      t.join();
  }
};

// GET /metrics of n ("" when it did not answer).
std::string metrics_of(const test_node& n) {
  auto r = tandem::client::http_call("GET", "127.0.0.1", n.ports().admin, "/metrics", 5000ms);
  return r.status == 200 ? r.body : std::string{};
}

std::uint64_t waiting_publishes(const test_node& n) {
  auto s = n.status();
  return s.is_object() ? s["journal"].value("publishes_waiting_for_sync_destinations", std::uint64_t{0}) : 0;
}

} // namespace

TEST_CASE("a destination added live under load catches up: every record on the new node exactly once, no restart") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"}, c{dir, "C"};
  start_pair(a, b, "async");
  c.configure({}); // accepts A's connection; has no destination itself
  c.start();
  const auto pid = a.status()["pid"];
  std::atomic<bool> done{false};
  publish_result pub;
  std::thread publisher([&] {
    pub = publish_n(a, "load", 6000, publish_spec{64, 200});
    done = true;
  });
  joined join_publisher{publisher};
  REQUIRE(wait_until([&] { return a.durable_seq() >= a.first_seq() + 1000 || done; }, 30s));
  edit_config(a, [&](nlohmann::json& cfg) { cfg["destinations"].push_back(destination_json("C", "sync", c)); });
  auto r = post_reload(a);
  REQUIRE(r.status == 200);
  auto verdict = nlohmann::json::parse(r.body);
  CHECK(verdict["result"] == "applied");
  CHECK(verdict["changes"][0]["path"] == "destinations[name=C]");
  CHECK(verdict["changes"][0]["kind"] == "live");
  publisher.join();
  REQUIRE(pub.error.empty());
  REQUIRE(pub.persisted == 6000);
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("C"); }, 20s), a.log());
  const auto a_durable = a.durable_seq();
  REQUIRE_MESSAGE(wait_until([&] { return held_back(a, "C").value("acknowledged", std::uint64_t{0}) >= a_durable; }, 60s),
                  a.log());
  CHECK(a.status()["pid"] == pid);
  CHECK(a.destination("C")["sync_type"] == "sync");
  CHECK(a.log().find("destination C added by a config reload (sync)") != std::string::npos);
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  CHECK(c.stop() == 0);
  std::size_t from_a = 0;
  for (const auto& [key, n] : count_by_origin(c.journal_records()))
    if (key.first == "A") {
      ++from_a;
      CHECK(n == 1);
    }
  CHECK(from_a == 6000); // from the oldest record held, as at startup: those before the reload too
}

TEST_CASE("a destination removed live releases its retention hold: the journal files it held are removed") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"}, gone{dir, "G"};
  const nlohmann::json small = {{"journal", {{"segment_bytes", 4096}, {"retention_min_age_s", 0}}}};
  b.configure({});
  a.configure({{destination_spec{"B", "async", true, {}}, &b}, {destination_spec{"G", "async", true, {}}, &gone}}, small);
  a.start();
  b.start(); // G never runs: it holds every sealed segment
  auto pub = publish_n(a, "p", 400, publish_spec{64, 200});
  REQUIRE(pub.persisted == 400);
  REQUIRE(wait_until([&] { return held_back(a, "B").value("acknowledged", std::uint64_t{0}) >= a.durable_seq(); }, 30s));
  REQUIRE(wait_until([&] { return held_back(a, "G").value("segments", std::uint64_t{0}) > 2; }, 10s));
  const auto first_before = a.first_seq();
  const auto before = metrics_of(a); // G's series, as for every destination
  CHECK(before.find("tandem_destination_connected{destination=\"G\"") != std::string::npos);
  CHECK(before.find("tandem_journal_held_back_segments{destination=\"G\"}") != std::string::npos);
  edit_config(a, [](nlohmann::json& cfg) { cfg["destinations"].erase(1); });
  auto r = post_reload(a);
  REQUIRE(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["changes"][0]["path"] == "destinations[name=G]");
  CHECK(wait_until([&] { return held_back(a, "G").is_null(); }, 10s));
  CHECK_MESSAGE(wait_until([&] { return a.first_seq() > first_before; }, 20s), a.log()); // its files went
  CHECK(a.destination("G").is_null());
  // Its series leave /metrics (Prometheus: a label set that no longer exists is not exposed); B's stay.
  std::string after;
  CHECK_MESSAGE(wait_until([&] {
                  after = metrics_of(a);
                  return !after.empty() && after.find("destination=\"G\"") == std::string::npos;
                }, 10s),
                after);
  CHECK(after.find("tandem_destination_connected{destination=\"B\"") != std::string::npos);
  CHECK(a.status()["journal"]["sync_states"].count("G") == 0);
  CHECK(a.log().find("destination G removed (config reload)") != std::string::npos);
  auto more = publish_n(a, "p2", 10);
  CHECK(more.persisted == 10);
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

TEST_CASE("a topics filter changed live applies to the records not yet sent; instances stay restart_required") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  b.configure({});
  a.configure({{destination_spec{"B", "async", true, {}}, &b}});
  edit_config(a, [](nlohmann::json& cfg) { cfg["destinations"][0]["topics"] = "orders\\.keep.*"; });
  a.start();
  b.start();
  // Round 1: drop, then keep (the last record sent is B's resume point).
  REQUIRE(publish_n(a, "drop", 50).persisted == 50);
  REQUIRE(publish_n(a, "keep", 50).persisted == 50);
  REQUIRE(wait_until([&] { return held_back(a, "B").value("acknowledged", std::uint64_t{0}) >= a.durable_seq(); }, 30s));
  edit_config(a, [](nlohmann::json& cfg) { cfg["destinations"][0]["topics"] = "orders\\.drop.*"; });
  auto r = post_reload(a);
  REQUIRE(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["changes"][0]["path"] == "destinations[name=B].topics");
  REQUIRE(publish_n(a, "keep2", 50).persisted == 50);
  REQUIRE(publish_n(a, "drop2", 50).persisted == 50);
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B"); }, 20s), a.log());
  REQUIRE(wait_until([&] { return held_back(a, "B").value("acknowledged", std::uint64_t{0}) >= a.durable_seq(); }, 30s));

  edit_config(a, [](nlohmann::json& cfg) { cfg["destinations"][0]["instances"] = nlohmann::json::array({"B", "B2"}); });
  auto refused = post_reload(a);
  CHECK(refused.status == 409);
  CHECK(nlohmann::json::parse(refused.body)["restart_required"] ==
        nlohmann::json::array({"destinations[name=B].instances"}));
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  std::map<std::string, int> topics;
  for (const auto& rec : b.journal_records())
    if (rec.origin == "A")
      ++topics[rec.topic];
  CHECK(topics["orders.keep"] == 50);  // round 1, by the old filter
  CHECK(topics["orders.drop"] == 0);   // filtered out before the change: not sent afterwards either
  CHECK(topics["orders.keep2"] == 0);  // after the change: the new filter
  CHECK(topics["orders.drop2"] == 50);
  CHECK(topics.size() == 4);
}

TEST_CASE("removing a sync destination that publishes wait on releases them, with a log line") {
  temp_dir dir;
  test_node a{dir, "A"}, down{dir, "D"};
  a.configure({{destination_spec{"D", "sync", true, {}}, &down}}); // D never runs
  a.start();
  std::atomic<bool> done{false};
  publish_result pub;
  std::thread publisher([&] {
    pub = publish_n(a, "w", 20, publish_spec{64, 100, false, std::chrono::milliseconds{30000}});
    done = true;
  });
  joined join_publisher{publisher};
  REQUIRE(wait_until([&] { return waiting_publishes(a) > 0; }, 20s));
  CHECK_FALSE(done);
  edit_config(a, [](nlohmann::json& cfg) { cfg["destinations"] = nlohmann::json::array(); });
  auto r = post_reload(a);
  REQUIRE(r.status == 200);
  publisher.join();
  CHECK(pub.error.empty());
  CHECK(pub.persisted == 20);
  CHECK(a.log().find("destination D removed by a config reload: ") != std::string::npos);
  CHECK(a.log().find("publish(es) waiting on it no longer wait for it") != std::string::npos);
  CHECK(waiting_publishes(a) == 0);
  CHECK(a.stop() == 0);
}

TEST_CASE("SIGHUP storm restarting a destination's link (sync_type flips) loses and duplicates nothing") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_pair(a, b, "async");
  std::atomic<bool> done{false};
  publish_result pub;
  std::thread publisher([&] {
    pub = publish_n(a, "flip", 5000, publish_spec{64, 200});
    done = true;
  });
  joined join_publisher{publisher};
  int reloads = 0;
  while (!done && reloads < 10) {
    const bool sync = reloads % 2 == 0;
    edit_config(a, [&](nlohmann::json& c) { c["destinations"][0]["sync_type"] = sync ? "sync" : "async"; });
    a.signal(SIGHUP);
    ++reloads;
    REQUIRE(wait_until([&] { return occurrences(a.log(), "destination B changed (config reload)") == static_cast<std::size_t>(reloads); },
                       20s));
  }
  publisher.join();
  CHECK(reloads >= 1);
  REQUIRE(pub.error.empty());
  REQUIRE(pub.persisted == 5000);
  REQUIRE_MESSAGE(wait_until([&] { return held_back(a, "B").value("acknowledged", std::uint64_t{0}) >= a.durable_seq(); }, 60s),
                  a.log());
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  std::size_t from_a = 0;
  for (const auto& [key, n] : count_by_origin(b.journal_records()))
    if (key.first == "A") {
      ++from_a;
      CHECK(n == 1);
    }
  CHECK(from_a == 5000);
  CHECK(occurrences(a.log(), "config reload refused") == 0);
}

TEST_CASE("an accept-only destination that gains an address live is dialed, no restart") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  b.configure({{destination_spec{"A", "async", false, {}}, &a}}); // accept-only both ways: nobody dials
  a.configure({{destination_spec{"B", "async", false, {}}, &b}});
  a.start();
  b.start();
  REQUIRE(publish_n(a, "p", 100).persisted == 100);
  CHECK_FALSE(a.connected_to("B"));
  const auto pid = a.status()["pid"];
  edit_config(a, [&](nlohmann::json& c) {
    c["destinations"][0]["addresses"] = nlohmann::json::array({"127.0.0.1:" + std::to_string(b.ports().replication)});
  });
  auto r = post_reload(a);
  REQUIRE(r.status == 200);
  CHECK(nlohmann::json::parse(r.body)["changes"][0]["path"] == "destinations[name=B].addresses");
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B"); }, 20s), a.log());
  CHECK(wait_until([&] { return held_back(a, "B").value("acknowledged", std::uint64_t{0}) >= a.durable_seq(); }, 20s));
  CHECK(a.status()["pid"] == pid);
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

TEST_CASE("reloads are coalesced: 16 POSTs and 50 SIGHUPs at once are all answered, by fewer reads than requests") {
  // Regression: each reload spawned its own detached loader (one thread per request, unbounded
  // under a SIGHUP storm). Now one read runs at a time and the requests that arrive meanwhile are
  // answered together by the next one.
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_pair(a, b);
  edit_config(a, [](nlohmann::json& c) { c["log_level"] = "debug"; });
  std::vector<std::thread> posts;
  std::atomic<int> answered{0}, applied_or_unchanged{0};
  for (int i = 0; i < 16; ++i)
    posts.emplace_back([&] {
      auto r = post_reload(a);
      if (!r.ok)
        return;
      ++answered;
      const auto result = nlohmann::json::parse(r.body, nullptr, false).value("result", "");
      if (result == "applied" || result == "unchanged")
        ++applied_or_unchanged;
    });
  for (int i = 0; i < 50; ++i)
    a.signal(SIGHUP);
  for (auto& t : posts)
    t.join();
  CHECK(answered == 16);
  CHECK(applied_or_unchanged == 16);
  // Every request was served by some read, and reads ran one at a time: fewer than requests.
  REQUIRE(wait_until([&] {
    const auto s = a.status()["config_reloads"]["by_result"];
    return s.value("applied", 0) + s.value("unchanged", 0) >= 1;
  }, 10s));
  const auto reads = occurrences(a.log(), "config reload: reading");
  MESSAGE(reads << " reads for 66 requests");
  CHECK(reads <= 16); // one read per request would be at least 17 (16 POSTs and a SIGHUP)
  CHECK(a.log().find(" requests)") != std::string::npos); // "reading ... (for N requests)"
  CHECK(a.status()["config_reloads"]["by_result"].value("applied", 0) == 1); // the first read applied log_level
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

TEST_CASE("limits and the stall threshold change live: a shorter topic limit refuses the next publish, a shorter stall_after flags a stopped partner") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_pair(a, b, "async");
  const std::string id(30, 'p'); // topic "orders." + 30 bytes = 37 bytes
  auto before = publish_n(a, id, 5);
  CHECK(before.persisted == 5);
  CHECK(before.negative == 0);
  edit_config(a, [](nlohmann::json& c) {
    c["limits"]["max_topic_bytes"] = 16;
    c["metrics"]["stall_after_ms"] = 300;
  });
  auto r = post_reload(a);
  REQUIRE(r.ok);
  CHECK_MESSAGE(r.status == 200, r.body);
  CHECK(nlohmann::json::parse(r.body)["result"] == "applied");
  auto after = publish_n(a, id, 5); // a new connection, and a new publish: both see the limit
  CHECK(after.persisted == 0);
  CHECK(after.negative == 5);
  CHECK(publish_n(a, "p", 5).persisted == 5); // "orders.p" fits
  // B stopped with records waiting: stalled after 300 ms now, not the 10 s default.
  b.signal(SIGSTOP);
  CHECK(publish_n(a, "q", 20).persisted == 20);
  CHECK_MESSAGE(wait_until([&] { return a.destination("B").value("stalled", false); }, 5s), a.destination("B").dump());
  b.signal(SIGCONT);
  CHECK(wait_until([&] { return !a.destination("B").value("stalled", true); }, 15s));
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}
