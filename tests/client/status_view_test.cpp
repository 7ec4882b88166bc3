// The `tandem status` views over canned /status documents: rates from two snapshots, no negative
// rate across a counter reset or a restart, "-" for whatever a document lacks, the stall alarm,
// and the one-shot table operators and scripts/demo already read.
#include <doctest/doctest.h>

#include "client/status_view.hpp"

using nlohmann::json;
using tandem::client::diff_status;
using tandem::client::render_status;
using tandem::client::render_status_watch;

namespace {

json destination(const std::string& name, std::uint64_t sent, std::uint64_t acked, std::uint64_t bytes,
                 std::uint64_t lag) {
  return {{"name", name},         {"group", "g"},          {"sync_type", "async"}, {"connected", true},
          {"direction", "dialed"}, {"peer_address", "127.0.0.1:27100"},        {"records_sent", sent},
          {"acked", acked},        {"bytes_sent", bytes},   {"lag_records", lag},   {"lag_bytes", lag * 100},
          {"lag_seconds", 0.0},    {"stalled", false},      {"stalled_for_s", 0.0}};
}

json snapshot(std::uint64_t committed, std::vector<json> dests, int pid = 4242) {
  return {{"name", "A"},
          {"group", "g"},
          {"state", "running"},
          {"version", "0.1.0"},
          {"caf_version", "0.17.6"},
          {"pid", pid},
          {"started_unix_ms", 1700000000000 + pid},
          {"uptime_s", 12.5},
          {"data_dir", "/data/a"},
          {"listeners", {{"admin", {{"address", "127.0.0.1"}, {"port", 27102}, {"state", "listening"}}}}},
          {"actors", {{"running", 9}}},
          {"journal",
           {{"first_seq", 1}, {"durable_seq", committed}, {"segments", 1}, {"bytes", committed * 120},
            {"committer", {{"records", committed}, {"syncs", 3}}}}},
          {"destinations", dests}};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The line of the destinations table that starts with "  NAME ".
std::string row_of(const std::string& text, const std::string& name) {
  auto at = text.find("\n  " + name + " ");
  REQUIRE_MESSAGE(at != std::string::npos, text);
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

} // namespace

TEST_CASE("rates are the counter differences divided by the seconds between the snapshots") {
  auto before = snapshot(1000, {destination("B", 500, 400, 50000, 600)});
  auto now = snapshot(3000, {destination("B", 2500, 2400, 250000, 600)});
  auto r = diff_status(before, now, 2.0);
  REQUIRE(r.journal_append_per_s.has_value());
  CHECK(*r.journal_append_per_s == doctest::Approx(1000.0));
  REQUIRE(r.destinations.size() == 1);
  const auto& b = r.destinations[0];
  CHECK(b.name == "B");
  CHECK(b.state == "connected");
  CHECK(b.records_sent_per_s.value() == doctest::Approx(1000.0));
  CHECK(b.acked_per_s.value() == doctest::Approx(1000.0));
  CHECK(b.bytes_sent_per_s.value() == doctest::Approx(100000.0));
  CHECK(b.lag_records.value() == 600);

  auto text = render_status_watch(before, now, 2.0);
  CHECK(contains(text, "appending   1000.0 records/s\n"));
  auto row = row_of(text, "B");
  CHECK(contains(row, " connected "));
  CHECK(contains(row, " 1000.0 "));
  CHECK(contains(row, " 97.7 KiB "));
  CHECK(contains(row, " 600 "));
}

TEST_CASE("the first frame has no rates yet: every rate renders as '-'") {
  auto now = snapshot(3000, {destination("B", 2500, 2400, 250000, 0)});
  auto r = diff_status(json{}, now, 0.0);
  CHECK_FALSE(r.journal_append_per_s.has_value());
  REQUIRE(r.destinations.size() == 1);
  CHECK_FALSE(r.destinations[0].records_sent_per_s.has_value());
  auto text = render_status_watch(json{}, now, 0.0);
  CHECK(contains(text, "appending   - records/s\n"));
  CHECK(contains(row_of(text, "B"), " -          - "));
}

TEST_CASE("a counter that went backwards gives no rate, never a negative one") {
  // The link's counters were reset while the process stayed the same.
  auto before = snapshot(3000, {destination("B", 2500, 2400, 250000, 0)});
  auto now = snapshot(3100, {destination("B", 40, 2500, 4000, 0)});
  auto r = diff_status(before, now, 1.0);
  const auto& b = r.destinations.at(0);
  CHECK_FALSE(b.records_sent_per_s.has_value());
  CHECK_FALSE(b.bytes_sent_per_s.has_value());
  CHECK(b.acked_per_s.value() == doctest::Approx(100.0)); // acked went on growing
  CHECK(r.journal_append_per_s.value() == doctest::Approx(100.0));
  CHECK_FALSE(contains(render_status_watch(before, now, 1.0), "-2460"));
}

TEST_CASE("across a node restart no difference is a rate, even where the new counter is larger") {
  auto before = snapshot(3000, {destination("B", 100, 2400, 10000, 0)}, 4242);
  auto now = snapshot(3500, {destination("B", 300, 2600, 30000, 0)}, 4343); // new pid, new start time
  auto r = diff_status(before, now, 1.0);
  CHECK_FALSE(r.journal_append_per_s.has_value());
  const auto& b = r.destinations.at(0);
  CHECK_FALSE(b.records_sent_per_s.has_value());
  CHECK_FALSE(b.acked_per_s.has_value());
  CHECK_FALSE(b.bytes_sent_per_s.has_value());
  CHECK(b.lag_records.value() == 0); // a level, not a rate: still shown
}

TEST_CASE("missing fields render as '-' and never throw") {
  auto before = json{{"destinations", json::array({json{{"name", "B"}}})}};
  auto now = json{{"name", "A"}, {"destinations", json::array({json{{"name", "B"}}, json{{"name", "C"}}, 7})}};
  std::string text;
  REQUIRE_NOTHROW(text = render_status_watch(before, now, 1.0));
  auto r = diff_status(before, now, 1.0);
  REQUIRE(r.destinations.size() == 2); // the non-object entry is skipped
  CHECK(r.destinations[0].state == "down");
  CHECK_FALSE(r.destinations[0].lag_records.has_value());
  CHECK_FALSE(r.destinations[0].lag_seconds.has_value());
  CHECK_FALSE(r.destinations[1].records_sent_per_s.has_value()); // C is new: nothing to compare with
  CHECK(contains(text, "node        A (group null)\n"));
  CHECK(contains(text, "appending   - records/s\n"));
  CHECK(contains(row_of(text, "C"), " down "));
  // Documents that are not even objects.
  CHECK_NOTHROW(render_status_watch(json{}, json::array(), 1.0));
  CHECK_NOTHROW(render_status(json{{"destinations", json::array({1, "x"})}}));
}

TEST_CASE("a stalled destination shows STALLED with how long, its lag in records and seconds") {
  auto stuck = destination("B", 2500, 2400, 250000, 0);
  stuck["lag_records"] = 1200; // a signed JSON integer, as a hand-built document has it
  stuck["stalled"] = true;
  stuck["stalled_for_s"] = 7.4;
  stuck["lag_seconds"] = 9.25;
  auto ok = destination("C", 2500, 3600, 250000, 0);
  auto before = snapshot(3000, {stuck, ok});
  auto now = snapshot(3600, {stuck, ok});
  auto r = diff_status(before, now, 1.0);
  CHECK(r.destinations.at(0).state == "STALLED");
  CHECK(r.destinations.at(0).stalled_for_s.value() == doctest::Approx(7.4));
  CHECK(r.destinations.at(0).acked_per_s.value() == doctest::Approx(0.0));
  CHECK(r.destinations.at(1).state == "connected");
  CHECK(r.destinations.at(1).lag_records.value() == 0);
  auto text = render_status_watch(before, now, 1.0);
  auto row = row_of(text, "B");
  CHECK(contains(row, " STALLED 7s "));
  CHECK(contains(row, " 1200 "));
  CHECK(contains(row, " 9.25"));
  CHECK_FALSE(contains(row_of(text, "C"), "STALLED"));

  // A destination that is down and stalled shows the alarm, not just "down".
  stuck["connected"] = false;
  CHECK(diff_status(json{}, snapshot(3600, {stuck}), 0).destinations.at(0).state == "STALLED");
}

TEST_CASE("the one-shot view keeps its table: state column 'connected' / 'not connected'") {
  auto b = destination("B", 2500, 2400, 250000, 3);
  auto c = destination("C", 0, 0, 0, 0);
  c["connected"] = false;
  c.erase("direction");
  auto text = render_status(snapshot(3000, {b, c}));
  CHECK(contains(text, "node        A (group g)\nstate       running\nversion     0.1.0 (CAF 0.17.6), pid 4242\n"));
  CHECK(contains(text, "listener    admin 127.0.0.1:27102 (listening)\n"));
  CHECK(contains(text, "journal     3000 records 1..3000 durable, 1 segment(s), 360000 bytes\n"));
  CHECK(contains(text, "destinations 2\n  NAME         TYPE  STATE         VIA      PEER"));
  CHECK(row_of(text, "B")
        == "  B            async connected     dialed   127.0.0.1:27100                2500              2400          3");
  CHECK(contains(row_of(text, "C"), " not connected          127.0.0.1:27100 "));
}

TEST_CASE("with destinations_summary the destinations line carries the aggregates, one-shot and watch alike") {
  auto b = destination("B", 10, 10, 1000, 0);
  auto c = destination("C", 5, 2, 500, 40);
  auto s = snapshot(100, {b, c});
  s["destinations_summary"] = {{"count", 2},         {"connected", 1},       {"not_connected", 1},
                               {"sync", 1},          {"sync_connected", 0},  {"stalled", 0},
                               {"max_lag_records", 40}, {"max_lag_seconds", 1.5}, {"slowest", "C"}};
  const std::string line =
    "destinations 2: 1 connected, 1 not connected, 0 stalled; sync 0/1 connected; max lag 40 records (C), 1.50 s\n";
  CHECK(contains(render_status(s), line));
  CHECK(contains(render_status_watch(s, s, 1.0), line));
  // Nothing lags, no sync destination: no name, no sync part.
  s["destinations_summary"]["sync"] = 0;
  s["destinations_summary"]["max_lag_records"] = 0;
  s["destinations_summary"]["max_lag_seconds"] = 0.0;
  s["destinations_summary"]["slowest"] = "";
  CHECK(contains(render_status(s), "destinations 2: 1 connected, 1 not connected, 0 stalled; max lag 0 records, 0.00 s\n"));
}

// The inbound view (issue 17): per origin what the node holds and who delivered it.
namespace {

json inbound_origin(const std::string& origin, std::uint64_t records, std::uint64_t received, const json& via,
                    const json& address) {
  const bool known = !via.is_null();
  return {{"origin", origin},
          {"records", records},
          {"received", received},
          {"highest_origin_seq", 1764870000000ull + records},
          {"last_received_unix_ms", known ? json(1796413801123ull) : json()},
          {"last_received_age_s", known ? json(0.4) : json()},
          {"via", via},
          {"via_address", address},
          {"via_position", json()}};
}

json with_inbound(json s, std::uint64_t received_a) {
  s["inbound"] = {{"origins",
                   {inbound_origin("A", 500, received_a, "B", "127.0.0.1:40001"),
                    inbound_origin("B", 100, 100, "B", "127.0.0.1:40001"), inbound_origin("C", 0, 0, json(), json())}},
                  {"totals", {{"origins", 3}, {"records", 600}, {"received", received_a + 100},
                              {"untracked_records", 0}, {"max_origins", 4096}}}};
  return s;
}

} // namespace

TEST_CASE("the one-shot view shows per origin the records held, highest seq, last received time, age and via") {
  auto text = render_status(with_inbound(snapshot(600, {}), 500));
  CHECK(text.find("inbound     3 origin(s), 600 records held, 600 received since start") != std::string::npos);
  CHECK(text.find("ORIGIN") != std::string::npos);
  const auto row_a = text.substr(text.find("\n  A ") + 1);
  CHECK(row_a.find("500") != std::string::npos);
  CHECK(row_a.find("1764870000500") != std::string::npos);
  CHECK(row_a.find("2026-12-04T19:50:01.123Z") != std::string::npos);
  CHECK(row_a.find("0.4") != std::string::npos);
  CHECK(row_a.substr(0, row_a.find('\n')).find("B            127.0.0.1:40001") != std::string::npos);
  // nothing received from C since the node started: no time, no via
  const auto row_c = text.substr(text.find("\n  C ") + 1);
  CHECK(row_c.substr(0, row_c.find('\n')).find(" -  ") != std::string::npos);
  CHECK(row_c.substr(0, row_c.find('\n')).find("127.0.0.1") == std::string::npos);
}

TEST_CASE("the watch frame adds records received per second per origin, '-' on the first frame") {
  auto before = with_inbound(snapshot(600, {}), 300);
  auto now = with_inbound(snapshot(800, {}), 500);
  auto first = render_status_watch(json(), now, 1.0);
  auto a_first = first.substr(first.find("\n  A ") + 1);
  CHECK(a_first.substr(0, a_first.find('\n')).find(" - ") != std::string::npos);
  auto frame = render_status_watch(before, now, 2.0);
  auto a = frame.substr(frame.find("\n  A ") + 1);
  CHECK(a.substr(0, a.find('\n')).find("100.0") != std::string::npos); // (500 - 300) / 2 s
}

TEST_CASE("a node without an inbound view shows no inbound table, and odd fields never throw") {
  CHECK(render_status(snapshot(10, {})).find("inbound") == std::string::npos);
  auto odd = snapshot(10, {});
  odd["inbound"] = {{"origins", {3, json::object(), {{"origin", "X"}, {"last_received_unix_ms", "soon"}}}}};
  std::string text;
  CHECK_NOTHROW(text = render_status(odd));
  CHECK(text.find("inbound") != std::string::npos);
}

// Issue 17 part 2: a destination that is a group of servers.
namespace {

json group_destination(const std::string& serving, std::uint64_t failovers) {
  auto d = destination("B", 100, 90, 1000, 10);
  d["serving_instance"] = serving;
  d["serving_address"] = serving == "B1" ? "127.0.0.1:27220" : "127.0.0.1:27230";
  d["failovers"] = failovers;
  d["instances"] = json::array({{{"instance", "B1"}, {"connected", serving == "B1"}},
                                {{"instance", "B2"}, {"connected", true}}});
  return d;
}

} // namespace

TEST_CASE("the one-shot view names the serving instance of a group destination and keeps VIA/PEER") {
  auto text = render_status(snapshot(100, {group_destination("B2", 1)}));
  CHECK(contains(text, "  NAME         TYPE  STATE         VIA      PEER"));
  CHECK(contains(row_of(text, "B"), "connected     dialed   127.0.0.1:27100"));
  CHECK(contains(text, "\n  B  served by B2 (127.0.0.1:27230); B1 not connected, B2 connected; failovers 1\n"));
  // A destination of one instance gets no such line.
  CHECK_FALSE(contains(render_status(snapshot(100, {destination("B", 1, 1, 1, 0)})), "served by"));
}

TEST_CASE("the watch frame shows the serving instance and a failover as an event line") {
  auto before = snapshot(100, {group_destination("B1", 0)});
  auto now = snapshot(200, {group_destination("B2", 1)});
  auto rates = diff_status(before, now, 1.0);
  REQUIRE(rates.destinations.size() == 1);
  CHECK(rates.destinations[0].serving_instance == "B2");
  CHECK(rates.destinations[0].failover_from == std::optional<std::string>{"B1"});
  auto text = render_status_watch(before, now, 1.0);
  CHECK(contains(text, " SERVING\n"));
  CHECK(contains(row_of(text, "B"), "  B2"));
  CHECK(contains(text, "\nfailover    B: served by B2 now (was B1)\n"));
  // No change: no event. A change and back between two frames: the counter tells.
  CHECK_FALSE(contains(render_status_watch(now, now, 1.0), "failover "));
  auto back = snapshot(300, {group_destination("B2", 3)});
  CHECK(contains(render_status_watch(now, back, 1.0), "failover    B: served by B2 (changed and came back since the last frame)\n"));
  // The first frame, or across a restart, has nothing to compare: no event.
  CHECK_FALSE(contains(render_status_watch(json{}, now, 1.0), "failover "));
  CHECK_FALSE(contains(render_status_watch(snapshot(100, {group_destination("B1", 0)}, 7), now, 1.0), "failover "));
}

TEST_CASE("each destination's checks: validation, anti-entropy, a downgrade; alarms in capitals, one-shot and watch") {
  auto healthy = destination("B", 10, 10, 1000, 0);
  healthy["sync_type"] = "sync";
  healthy["effective_sync_type"] = "sync";
  healthy["validation"] = {{"ok", true}, {"result", "ok"}, {"problems", json::array()}, {"refused_by_peer", ""}};
  healthy["anti_entropy"] = {{"state", "idle"}, {"divergent_records", 0}, {"first_range", nullptr}, {"comparisons", 3}};
  auto bad = destination("C", 10, 10, 1000, 0);
  bad["sync_type"] = "sync";
  bad["effective_sync_type"] = "async";
  bad["downgrade_reason"] = "ack_timeout";
  bad["downgraded_since"] = 1700000000123ULL;
  bad["validation"] = {{"ok", false},
                       {"result", "warned"},
                       {"problems", {{{"check", "back_sync"}, {"mine", "sync"}, {"theirs", "async"}}}},
                       {"refused_by_peer", ""}};
  bad["anti_entropy"] = {{"state", "idle"},
                         {"divergent_records", 40},
                         {"first_range", {{"origin", "A"}, {"first", 101}, {"last", 140}, {"kind", "missing_right"}}},
                         {"comparisons", 2}};
  auto s = snapshot(10, {healthy, bad});
  for (const auto& text : {render_status(s), render_status_watch(json{}, s, 0.0)}) {
    CHECK_MESSAGE(contains(text, "  B  validation ok; anti-entropy idle, 0 divergent (3 comparisons)\n"), text);
    CHECK_MESSAGE(contains(text, "  C  DOWNGRADED to async (ack_timeout) since 2023-11-14T22:13:20.123Z; validation "
                                 "warned; back_sync: mine sync, theirs async; anti-entropy DIVERGENT idle, 40 "
                                 "divergent, first A 101..140 (missing_right) (2 comparisons)\n"),
                  text);
  }
  // A node that reports none of these (older, or an async destination without them): no line.
  auto plain = snapshot(10, {destination("D", 1, 1, 1, 0)});
  CHECK_FALSE(contains(render_status(plain), "validation"));
  CHECK_FALSE(contains(render_status(plain), "anti-entropy"));
  CHECK_FALSE(contains(render_status(plain), "DOWNGRADED"));
  // Odd types never throw.
  auto odd = destination("E", 1, 1, 1, 0);
  odd["validation"] = {{"problems", 7}};
  odd["anti_entropy"] = {{"divergent_records", "many"}, {"first_range", 3}};
  CHECK_NOTHROW(render_status(snapshot(1, {odd})));
}
