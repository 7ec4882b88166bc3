// Sync downgrade and upgrade with real tandemd processes (issue 16 parts 1, 2 and 5): a sync pair
// whose partner dies, freezes or flaps keeps acknowledging after downgrade_after_ms, shows it in
// /status and /metrics, and takes the partner back as sync once it has caught up; an operator
// can do the same by hand; a careless config value is refused naming its key.
#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "client/client_connection.hpp"
#include "client/ha_publisher.hpp"
#include "client/http_get.hpp"
#include "client/publisher.hpp"
#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem;
using namespace tandem::test;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t downgrade_after_ms = 1000;

// Publishes 100-byte messages to a node from its own thread (about 2000 a second, window 16)
// until stop(), and measures the longest time without a persisted ack while `watching`.
class timed_publisher {
public:
  timed_publisher(std::uint16_t port, std::string id)
      : thread_([this, port, publisher_id = std::move(id)] { run(port, publisher_id); }) {}
  ~timed_publisher() { stop(); }

  std::uint64_t persisted() const { return persisted_.load(); }
  // From now on, the longest stretch without an ack is measured (from the last ack before).
  void watch() { watching_ = true; }
  std::chrono::milliseconds longest_gap() const { return std::chrono::milliseconds{gap_ms_.load()}; }
  void stop() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }
  const std::string& error() const { return error_; } // after stop()
  std::uint64_t sent() const { return sent_.load(); }

private:
  void run(std::uint16_t port, const std::string& id) {
    client::client_connection c;
    if (auto err = c.connect("127.0.0.1", port, id, 5s); !err.empty()) {
      error_ = "connect: " + err;
      return;
    }
    client::publisher p{c, client::publisher_options{id, 16}};
    const std::string payload(100, 'x');
    auto last_ack = std::chrono::steady_clock::now();
    auto note = [&] {
      const auto now = std::chrono::steady_clock::now();
      if (p.counters().persisted != persisted_.load()) {
        persisted_ = p.counters().persisted;
        last_ack = now;
      } else if (watching_) {
        const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_ack).count();
        if (gap > gap_ms_.load())
          gap_ms_ = gap;
      }
    };
    while (!stop_) {
      // A short timeout: a full window (acks held back) is retried, the gap measured meanwhile.
      if (p.publish("orders." + id, payload, 20ms))
        ++sent_;
      else if (p.outstanding() == 0 || !c.is_open()) {
        error_ = "publish: " + p.error();
        break;
      }
      note();
      std::this_thread::sleep_for(500us);
    }
    if (error_.empty() && !p.wait_all(20s))
      error_ = "acks missing: " + p.error();
    note();
  }

  std::atomic<bool> stop_{false}, watching_{false};
  std::atomic<std::uint64_t> persisted_{0}, sent_{0};
  std::atomic<long long> gap_ms_{0};
  std::string error_;
  std::thread thread_;
};

// A publisher on one node that keeps what is not yet on every sync destination (ha_publisher,
// memory store), so that which of its messages got a complete ack -- a persisted_ack, or a
// persisted_partial a `replicated` note covered since -- is exact: those no longer in its store.
class ack_probe {
public:
  ack_probe(const test_node& n, std::string name) : name_(std::move(name)), pub_{options(n), store_} {}

  // Publishes `count` messages and waits until each is acked, partially or completely.
  void publish(int count) {
    for (int i = 0; i < count; ++i)
      REQUIRE_MESSAGE(pub_.publish("orders.probe", "probe", 10s).has_value(), pub_.error());
    REQUIRE_MESSAGE(pub_.wait_acked(20s), pub_.error());
  }
  // The seqs acked completely so far (nothing is refused here: checked).
  std::set<std::uint64_t> complete() const {
    CHECK(pub_.counters().negative == 0);
    std::set<std::uint64_t> out;
    for (std::uint64_t seq = 1; seq < pub_.next_seq(); ++seq)
      if (!store_.held().count(seq))
        out.insert(seq);
    return out;
  }
  client::ha_publisher& publisher() { return pub_; }
  const std::string& name() const { return name_; }

private:
  client::ha_publisher_options options(const test_node& n) const {
    client::ha_publisher_options o;
    o.name = name_;
    o.servers.push_back({"127.0.0.1", n.ports().client});
    return o;
  }

  std::string name_;
  client::memory_publish_store store_;
  client::ha_publisher pub_;
};

// B (stopped or killed) holds every message `probe` got a complete ack for, once, and none of
// its seqs from `absent_from` on (published while B was down).
void check_complete_on(const test_node& b, const ack_probe& probe, std::uint64_t absent_from) {
  std::map<std::uint64_t, int> on_b;
  for (const auto& r : b.journal_records())
    if (r.publisher == probe.name())
      ++on_b[r.publisher_seq];
  const auto complete = probe.complete();
  CHECK(!complete.empty());
  for (auto seq : complete)
    CHECK_MESSAGE(on_b[seq] == 1, "acked completely, but B holds seq " << seq << " " << on_b[seq] << " times");
  for (auto it = on_b.lower_bound(absent_from); it != on_b.end(); ++it)
    CHECK_MESSAGE(it->second == 0, "B holds seq " << it->first << ", published while it was down");
}

nlohmann::json sync_state(const test_node& n, const std::string& dest) { return n.destination(dest); }

bool effective(const test_node& n, const std::string& dest, const char* type) {
  auto d = sync_state(n, dest);
  return d.is_object() && d.value("effective_sync_type", "") == type;
}

std::uint64_t count_of(const test_node& n, const std::string& dest, const char* key) {
  auto d = sync_state(n, dest);
  return d.is_object() ? d.value(key, std::uint64_t{0}) : 0;
}

// The value of a metric line `name{destination="dest",...} v` in /metrics, or -1.
double metric(const test_node& n, const std::string& name, const std::string& dest) {
  auto r = admin_get(n.ports().admin, "/metrics");
  if (!r.ok)
    return -1;
  const std::string prefix = name + "{destination=\"" + dest + "\"";
  for (std::size_t at = r.body.find(prefix); at != std::string::npos; at = r.body.find(prefix, at + 1)) {
    if (at > 0 && r.body[at - 1] != '\n')
      continue;
    auto close = r.body.find("} ", at);
    auto end = r.body.find('\n', close);
    return std::stod(r.body.substr(close + 2, end - close - 2));
  }
  return -1;
}

// Every record A originated is on B exactly once, and neither journal holds a record twice.
void check_journals(test_node& a, test_node& b) {
  const auto on_a = count_by_origin(a.journal_records());
  const auto on_b = count_by_origin(b.journal_records());
  std::size_t of_a = 0;
  for (const auto& [key, n] : on_a) {
    CHECK_MESSAGE(n == 1, "A holds " << key.first << ":" << key.second << " " << n << " times");
    if (key.first != a.name())
      continue;
    ++of_a;
    auto it = on_b.find(key);
    CHECK_MESSAGE((it != on_b.end() && it->second == 1), "B lacks or repeats A's record " << key.second);
  }
  for (const auto& [key, n] : on_b)
    CHECK_MESSAGE(n == 1, "B holds " << key.first << ":" << key.second << " " << n << " times");
  CHECK(of_a > 0);
}

// Waits until B holds everything A holds (A idle), then stops both.
void settle_and_stop(test_node& a, test_node& b) {
  CHECK_MESSAGE(wait_until([&] { return effective(a, b.name(), "sync") && count_of(a, b.name(), "acked") >= a.durable_seq(); }, 30s),
                "B did not catch up: " << sync_state(a, b.name()).dump() << "\nA log:\n" << a.log());
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

client::http_result post(const test_node& n, const std::string& path) {
  return client::http_call("POST", "127.0.0.1", n.ports().admin, path, 2000ms);
}

} // namespace

TEST_CASE("kill B under load: acks on A resume within downgrade_after_ms + 500 ms, B is upgraded after catching up") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_downgrading_pair(a, b, downgrade_after_ms);
  timed_publisher pub{a.ports().client, "gw-kill"};
  REQUIRE(wait_until([&] { return pub.persisted() > 500; }, 15s));
  pub.watch();
  b.kill();
  const auto killed = pub.persisted();
  REQUIRE_MESSAGE(wait_until([&] { return pub.persisted() > killed + 1000; }, 10s), "A log:\n" << a.log());
  MESSAGE("longest time without an ack after the kill: " << pub.longest_gap().count() << " ms");
  CHECK_MESSAGE(pub.longest_gap() <= std::chrono::milliseconds{downgrade_after_ms + 500},
                "longest time without an ack: " << pub.longest_gap().count() << " ms");
  auto d = sync_state(a, "B");
  CHECK(d.value("sync_type", "") == "sync");
  CHECK(d.value("effective_sync_type", "") == "async");
  CHECK(d["downgraded_since"].is_number_unsigned());
  const auto reason = d.value("downgrade_reason", "");
  CHECK((reason == "ack_timeout" || reason == "disconnected"));
  CHECK(metric(a, "tandem_destination_downgraded", "B") == 1);
  CHECK(metric(a, "tandem_destination_downgrades_total", "B") == 1);
  CHECK(a.log().find("sync destination B downgraded") != std::string::npos);

  b.start();
  CHECK_MESSAGE(wait_until([&] { return effective(a, "B", "sync"); }, 30s),
                "not upgraded: " << sync_state(a, "B").dump());
  CHECK(count_of(a, "B", "upgrades") == 1);
  CHECK(metric(a, "tandem_destination_upgrades_total", "B") == 1);
  CHECK(metric(a, "tandem_destination_downgraded", "B") == 0);
  CHECK(metric(a, "tandem_destination_downgraded_seconds_total", "B") > 0);
  CHECK(sync_state(a, "B")["downgraded_since"].is_null());
  pub.stop();
  CHECK(pub.error() == "");
  settle_and_stop(a, b);
  check_journals(a, b);
}

TEST_CASE("an idle fresh pair is not downgraded: nothing published means nothing waits for the partner") {
  // Regression: a destination new to a fresh journal (position 0, the journal numbering from a
  // wall-clock base) counted as waiting for seq 1 since startup, so both nodes logged "sync
  // destination ... downgraded (ack_timeout)" downgrade_after_ms after start, with no record.
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  constexpr std::uint64_t short_delay_ms = 300;
  start_downgrading_pair(a, b, short_delay_ms);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds{4 * short_delay_ms};
  bool stayed_sync = true;
  wait_until([&] { // polls both nodes for 4x the delay: a downgrade would show at once
    stayed_sync = stayed_sync && effective(a, "B", "sync") && effective(b, "A", "sync");
    return !stayed_sync || std::chrono::steady_clock::now() >= until;
  }, 10s, 20ms);
  CHECK_MESSAGE(stayed_sync, "A: " << sync_state(a, "B").dump() << "\nB: " << sync_state(b, "A").dump());
  CHECK(count_of(a, "B", "downgrades") == 0);
  CHECK(count_of(b, "A", "downgrades") == 0);
  CHECK(a.log().find("downgraded") == std::string::npos);
  CHECK(b.log().find("downgraded") == std::string::npos);
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

TEST_CASE("SIGSTOP B (connection open, silent): downgraded by the age rule, upgraded after SIGCONT") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_downgrading_pair(a, b, downgrade_after_ms);
  timed_publisher pub{a.ports().client, "gw-stop"};
  REQUIRE(wait_until([&] { return pub.persisted() > 300; }, 15s));
  b.signal(SIGSTOP);
  CHECK_MESSAGE(wait_until([&] { return effective(a, "B", "async"); }, 10s), sync_state(a, "B").dump());
  CHECK(sync_state(a, "B").value("downgrade_reason", "") == "ack_timeout");
  CHECK(a.connected_to("B")); // the connection stayed open: the age rule, not a disconnection
  const auto stopped = pub.persisted();
  CHECK(wait_until([&] { return pub.persisted() > stopped + 500; }, 10s)); // acks flow without B
  b.signal(SIGCONT);
  CHECK_MESSAGE(wait_until([&] { return effective(a, "B", "sync"); }, 30s), sync_state(a, "B").dump());
  CHECK(count_of(a, "B", "downgrades") == 1);
  CHECK(count_of(a, "B", "upgrades") == 1);
  pub.stop();
  CHECK(pub.error() == "");
  settle_and_stop(a, b);
  check_journals(a, b);
}

TEST_CASE("flapping: B killed and restarted 10 times under load, counts consistent, no loss, no deadlock") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_downgrading_pair(a, b, 500);
  timed_publisher pub{a.ports().client, "gw-flap"};
  REQUIRE(wait_until([&] { return pub.persisted() > 200; }, 15s));
  ack_probe probe{a, "gw-flap-probe"};
  const auto started = std::chrono::steady_clock::now();
  for (int round = 0; round < 10; ++round) {
    CAPTURE(round);
    probe.publish(20); // B sync: acked completely
    const auto before = count_of(a, "B", "downgrades");
    b.kill();
    if (round % 2 == 0) { // down long enough to be downgraded (B was sync: see below)
      CHECK(wait_until([&] { return count_of(a, "B", "downgrades") > before; }, 5s));
      CHECK(count_of(a, "B", "downgrades") - count_of(a, "B", "upgrades") == 1); // B is down: no upgrade
      const auto down_from = probe.publisher().next_seq(), partial = probe.publisher().counters().partial;
      probe.publish(20); // acked partially: B is down and downgraded
      CHECK(probe.publisher().counters().partial == partial + 20);
      check_complete_on(b, probe, down_from); // what was acked completely survived B's SIGKILL
    } else // back before the delay (maybe): acks wait, then flow again
      wait_until([&] { return !a.connected_to("B"); }, 2s);
    b.start();
    CHECK(wait_until([&] { return a.connected_to("B"); }, 10s));
    // Sync again before the next kill, so that every kill of an even round is a downgrade.
    CHECK_MESSAGE(wait_until([&] { return effective(a, "B", "sync"); }, 10s), sync_state(a, "B").dump());
    const auto down = count_of(a, "B", "downgrades"), up = count_of(a, "B", "upgrades");
    CHECK(down == up);
  }
  CHECK(std::chrono::steady_clock::now() - started < 60s);
  const auto at_end = pub.persisted();
  CHECK(wait_until([&] { return pub.persisted() > at_end + 200; }, 10s)); // no deadlock
  pub.stop(); // returns: the publisher finishes with every ack in
  CHECK(pub.error() == "");
  CHECK(pub.persisted() == pub.sent());
  CHECK(wait_until([&] { return effective(a, "B", "sync"); }, 30s));
  const auto down = count_of(a, "B", "downgrades"), up = count_of(a, "B", "upgrades");
  CHECK(down >= 5);
  CHECK(down == up); // sync at the end: as many upgrades as downgrades
  CHECK(metric(a, "tandem_destination_downgrades_total", "B") == static_cast<double>(down));
  // B caught up: `replicated` notes complete every partial ack; then all of them are on B.
  auto& p = probe.publisher();
  CHECK_MESSAGE(p.wait_all(30s), p.error());
  CHECK(p.counters().partial >= 100); // 20 in each even round, more if B was downgraded meanwhile
  CHECK(p.counters().completed == p.counters().partial);
  CHECK(p.counters().persisted + p.counters().completed == 300); // 20 a round, 20 more in even rounds
  p.close();
  settle_and_stop(a, b);
  check_journals(a, b);
  check_complete_on(b, probe, p.next_seq());
}

TEST_CASE("admin: downgrade and upgrade by POST and by the CLI; unknown 404, async 409, GET 405") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"}, c{dir, "C"};
  start_downgrading_pair(a, b, 0, {{destination_spec{"C", "async", false, {}}, &c}});
  auto r = post(a, "/destinations/B/downgrade");
  REQUIRE(r.ok);
  CHECK(r.status == 200);
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  CHECK(doc.value("effective_sync_type", "") == "async");
  CHECK(doc.value("downgrade_reason", "") == "admin");
  CHECK(doc.value("admin_hold", false));
  CHECK(effective(a, "B", "async"));
  auto published = publish_n(a, "gw-admin", 50);
  CHECK(published.error == "");
  CHECK(published.persisted == 50);
  CHECK(effective(a, "B", "async")); // held: caught up or not, it stays downgraded
  r = post(a, "/destinations/B/upgrade");
  CHECK(r.status == 200);
  CHECK(wait_until([&] { return effective(a, "B", "sync"); }, 10s));

  r = post(a, "/destinations/nobody/downgrade");
  CHECK(r.status == 404);
  CHECK(r.body.find("no destination named nobody") != std::string::npos);
  r = post(a, "/destinations/C/downgrade");
  CHECK(r.status == 409);
  CHECK(r.body.find("async") != std::string::npos);
  auto g = admin_get(a.ports().admin, "/destinations/B/downgrade");
  CHECK(g.status == 405);
  CHECK(admin_get(a.ports().admin, "/status").status == 200);

  const auto admin = "127.0.0.1:" + std::to_string(a.ports().admin);
  auto cli = run({tandem_cli_path(), "destination", "downgrade", "B", "--admin", admin});
  CHECK(cli.exit_code == 0);
  CHECK(cli.out.find("\"effective_sync_type\": \"async\"") != std::string::npos);
  cli = run({tandem_cli_path(), "destination", "upgrade", "B", "--admin", admin});
  CHECK(cli.exit_code == 0);
  CHECK(wait_until([&] { return effective(a, "B", "sync"); }, 10s));
  cli = run({tandem_cli_path(), "destination", "downgrade", "nobody", "--admin", admin});
  CHECK(cli.exit_code == 1);
  CHECK(cli.err.find("HTTP 404") != std::string::npos);
  CHECK(cli.err.find("no destination named nobody") != std::string::npos);
  cli = run({tandem_cli_path(), "destination", "downgrade", "C", "--admin", admin});
  CHECK(cli.exit_code == 1);
  CHECK(cli.err.find("HTTP 409") != std::string::npos);
  CHECK(count_of(a, "B", "downgrades") == 2);
  CHECK(count_of(a, "B", "upgrades") == 2);
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

TEST_CASE("a careless operator: downgrade_after_ms negative, huge or a string is a config error naming the key") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  for (const auto& bad : {nlohmann::json(-1), nlohmann::json(86'400'001), nlohmann::json::parse("1e30"),
                          nlohmann::json("2000")}) {
    CAPTURE(bad.dump());
    a.configure({{destination_spec{"B", "sync", true, {}}, &b}});
    auto c = nlohmann::json::parse(read_file(a.config_file()));
    c["destinations"][0]["downgrade_after_ms"] = bad;
    write_file(a.config_file(), c.dump(2));
    auto r = run({tandemd_path(), "--config", a.config_file()}, dir.path(), 10s);
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.err.find("destinations[0].downgrade_after_ms") != std::string::npos, r.err);
  }
}
