// The inbound view with real tandemd processes (issue 17 part 5): on a chain A -> B -> C (B passes
// A's records on), the end of the chain shows per origin what it holds and who delivered it, in
// /status, /metrics and `tandem status`; B shows A's records via A and its own as local; after a
// restart the counts come back from the journal.
#include <chrono>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem;
using namespace tandem::test;

namespace {

constexpr publish_spec window_256{256};

// The "inbound" origin entry of `origin` in a /status document, or null.
// Reads with value/find only: a node without the view (or one that did not answer) has none.
nlohmann::json inbound_origin(const nlohmann::json& status, const std::string& origin) {
  const auto in = status.is_object() ? status.value("inbound", nlohmann::json{}) : nlohmann::json{};
  const auto origins = in.is_object() ? in.value("origins", nlohmann::json::array()) : nlohmann::json::array();
  for (const auto& o : origins)
    if (o.is_object() && o.value("origin", "") == origin)
      return o;
  return nlohmann::json::object();
}

// The address of the replication connection in use with `peer`, as the node's /status lists it.
std::string connection_address(const nlohmann::json& status, const std::string& peer) {
  for (const auto& c : status.value("replication_connections", nlohmann::json::array()))
    if (c.value("peer", "") == peer)
      return c.value("address", "");
  return {};
}

// The value of one exposition line `series` (e.g. tandem_inbound_records_total{origin="A"}), or -1.
double metric(std::uint16_t admin_port, const std::string& series) {
  auto r = admin_get(admin_port, "/metrics");
  return r.ok && r.status == 200 ? metric_value(r.body, series) : -1;
}

std::uint64_t held_records(const nlohmann::json& status, const std::string& origin) {
  return inbound_origin(status, origin).value("records", std::uint64_t{0});
}

} // namespace

TEST_CASE("inbound view: the end of a chain A -> B -> C shows A's and B's records, their highest seqs and B as via") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"}, c{dir, "C"};
  a.configure({{destination_spec{"B", "sync", true, {}}, &b}});
  b.configure({{destination_spec{"C", "sync", true, {"A"}}, &c}});
  c.configure({});
  c.start();
  b.start();
  a.start();
  REQUIRE(wait_until([&] { return a.connected_to("B") && b.connected_to("C"); }, 10s));
  REQUIRE(publish_n(a, "pa", 500, window_256).persisted == 500); // sync: held by B before each ack
  REQUIRE(publish_n(b, "pb", 120, window_256).persisted == 120); // sync: held by C before each ack
  REQUIRE_MESSAGE(wait_until([&] {
                    auto s = c.status();
                    return held_records(s, "A") == 500 && held_records(s, "B") == 120;
                  }, 15s),
                  "C status: " << c.status()["inbound"].dump());
  auto sa = a.status(), sb = b.status(), sc = c.status(); // not const: a missing field reads as null

  // On C: A's records came through B (passthrough), B's own too; C published nothing.
  auto ca = inbound_origin(sc, "A"), cb = inbound_origin(sc, "B"), cc = inbound_origin(sc, "C");
  CHECK(ca["records"] == 500);
  CHECK(ca["received"] == 500);
  CHECK(ca["highest_origin_seq"] == sa["journal"]["durable_seq"]); // A holds only its own 500
  CHECK(ca["via"] == "B");
  CHECK(ca["via_address"] == connection_address(sc, "B"));
  CHECK(ca["via_address"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
  CHECK(ca["last_received_unix_ms"].is_number_unsigned());
  CHECK(ca["last_received_age_s"].get<double>() >= 0);
  CHECK(ca["last_received_age_s"].get<double>() < 60);
  CHECK(cb["records"] == 120);
  CHECK(cb["highest_origin_seq"] == sb["journal"]["durable_seq"]); // B's own records came last
  CHECK(cb["via"] == "B");
  // C holds all of B's journal (the inbound positions, updated as C acks)
  CHECK(wait_until([&] { return inbound_origin(c.status(), "B")["via_position"] == sb["journal"]["durable_seq"]; }, 5s));
  CHECK(cc["records"] == 0);
  CHECK(cc["via"].is_null());
  CHECK(cc["last_received_unix_ms"].is_null());
  CHECK(sc["inbound"]["totals"]["origins"] == 3);
  CHECK(sc["inbound"]["totals"]["records"] == 620);
  CHECK(sc["inbound"]["totals"]["untracked_records"] == 0);
  CHECK(sc["destinations"].empty()); // the end of the chain: no destinations, yet it shows who feeds it

  // On B: A's records via A, its own as local; A holds only its own.
  auto ba = inbound_origin(sb, "A"), bb = inbound_origin(sb, "B");
  CHECK(ba["records"] == 500);
  CHECK(ba["via"] == "A");
  CHECK(ba["via_address"] == connection_address(sb, "A"));
  CHECK(ba["highest_origin_seq"] == sa["journal"]["durable_seq"]);
  CHECK(bb["records"] == 120);
  CHECK(bb["via"] == "local");
  CHECK(bb["via_address"].is_null());
  CHECK(inbound_origin(sa, "A")["records"] == 500);
  CHECK(inbound_origin(sa, "A")["via"] == "local");
  CHECK(sa["inbound"]["totals"]["origins"] == 1); // nothing flows back to A

  // /metrics on C: the same figures per origin.
  CHECK(metric(c.ports().admin, "tandem_inbound_records_total{origin=\"A\"}") == 500);
  CHECK(metric(c.ports().admin, "tandem_inbound_records_total{origin=\"B\"}") == 120);
  CHECK(metric(c.ports().admin, "tandem_inbound_origins") == 3);
  CHECK(metric(c.ports().admin, "tandem_inbound_last_received_age_seconds{origin=\"A\"}") >= 0);
  CHECK(metric(c.ports().admin, "tandem_inbound_last_received_age_seconds{origin=\"C\"}") == -1); // none yet

  // `tandem status` on C: a row per origin with its via.
  auto cli = run({tandem_cli_path(), "status", "--admin", "127.0.0.1:" + std::to_string(c.ports().admin)});
  REQUIRE(cli.exit_code == 0);
  CHECK(cli.out.find("inbound     3 origin(s), 620 records held") != std::string::npos);
  const auto row = cli.out.substr(cli.out.find("\n  A ") + 1);
  CHECK(row.substr(0, row.find('\n')).find(" B ") != std::string::npos);

  // After a restart of C, the counts come back from its journal; no delivery is known yet.
  REQUIRE(c.stop() == 0);
  c.start();
  auto restarted = c.status();
  CHECK(inbound_origin(restarted, "A")["records"] == 500);
  CHECK(inbound_origin(restarted, "A")["received"] == 0);
  CHECK(inbound_origin(restarted, "A")["via"].is_null());
  CHECK(inbound_origin(restarted, "A")["highest_origin_seq"] == sa["journal"]["durable_seq"]);
  CHECK(inbound_origin(restarted, "B")["records"] == 120);
  // B reconnects and one more record of B arrives: via B again, counted on top.
  REQUIRE(wait_until([&] { return b.connected_to("C"); }, 10s));
  REQUIRE(publish_n(b, "pb2", 1, window_256).persisted == 1);
  REQUIRE(wait_until([&] { return held_records(c.status(), "B") == 121; }, 10s));
  CHECK(inbound_origin(c.status(), "B")["via"] == "B");
  CHECK(inbound_origin(c.status(), "B")["received"] == 1);
}
