// destinations_summary (actors/node_status.hpp): the aggregates /status and /metrics show next to
// the per-destination rows; and the inbound view's place in /status and /metrics.
#include <doctest/doctest.h>

#include "actors/node_metrics.hpp"
#include "actors/node_status.hpp"

using nlohmann::ordered_json;

namespace {
ordered_json dest(const std::string& name, const char* type, bool connected, std::uint64_t lag, double lag_s,
                  bool stalled = false) {
  return {{"name", name},       {"sync_type", type},     {"connected", connected}, {"lag_records", lag},
          {"lag_seconds", lag_s}, {"stalled", stalled}, {"in_flight_bytes", 1000u}, {"records_sent", 7u}};
}
} // namespace

TEST_CASE("destinations_summary counts states and names the most lagging destination") {
  auto ds = ordered_json::array();
  ds.push_back(dest("D1", "async", true, 5, 0.1));
  ds.push_back(dest("D2", "sync", true, 0, 0.0));
  ds.push_back(dest("D3", "sync", false, 90, 2.5, true));
  ds.push_back(dest("D4", "async", false, 90, 1.0));
  auto s = tandem::destinations_summary(ds);
  CHECK(s["count"] == 4);
  CHECK(s["connected"] == 2);
  CHECK(s["not_connected"] == 2);
  CHECK(s["sync"] == 2);
  CHECK(s["sync_connected"] == 1);
  CHECK(s["stalled"] == 1);
  CHECK(s["max_lag_records"] == 90);
  CHECK(s["slowest"] == "D3"); // the first of the two with 90
  CHECK(s["max_lag_seconds"] == 2.5);
  CHECK(s["lag_records_total"] == 185);
  CHECK(s["in_flight_bytes_total"] == 4000);
  CHECK(s["records_sent_total"] == 28);
}

TEST_CASE("destinations_summary of none, or of objects lacking fields, is all zeros") {
  auto s = tandem::destinations_summary(ordered_json::array());
  CHECK(s["count"] == 0);
  CHECK(s["slowest"] == "");
  auto odd = ordered_json::array({ordered_json::object(), 3, ordered_json{{"name", "X"}}});
  auto t = tandem::destinations_summary(odd);
  CHECK(t["count"] == 2); // objects only
  CHECK(t["connected"] == 0);
  CHECK(t["max_lag_records"] == 0);
  CHECK(t["slowest"] == "");
}

// The inbound view (issue 17): the journal's "inbound" object becomes /status "inbound", and
// /metrics mirrors it per origin.

namespace {
std::string journal_with_inbound() {
  ordered_json origin_a = {{"origin", "A"},         {"records", 500},         {"received", 300},
                           {"highest_origin_seq", 1764870000500ull}, {"last_received_unix_ms", 1796413801123ull},
                           {"last_received_age_s", 2.5}, {"via", "B"},      {"via_address", "127.0.0.1:40001"}};
  ordered_json origin_c = {{"origin", "C"}, {"records", 0}, {"received", 0}, {"highest_origin_seq", 0},
                           {"last_received_unix_ms", nullptr}, {"last_received_age_s", nullptr}, {"via", nullptr}};
  ordered_json j = {{"durable_seq", 7},
                    {"inbound", {{"origins", {origin_a, origin_c}},
                                 {"totals", {{"origins", 2}, {"records", 500}, {"untracked_records", 4}}}}}};
  return j.dump();
}
} // namespace

TEST_CASE("node status: the journal's inbound view is served at the top level, once") {
  tandem::node_info info;
  info.config.name = "C";
  auto doc = nlohmann::json::parse(tandem::node_status_json(info, {}, journal_with_inbound()));
  REQUIRE(doc["inbound"].is_object());
  CHECK(doc["inbound"]["origins"][0]["via"] == "B");
  CHECK(doc["inbound"]["totals"]["records"] == 500);
  CHECK_FALSE(doc["journal"].contains("inbound"));
  CHECK(doc["journal"]["durable_seq"] == 7);
  auto without = nlohmann::json::parse(tandem::node_status_json(info, {}, "null"));
  CHECK(without["inbound"].is_null());
}

TEST_CASE("node metrics: per origin records, highest seq and age; no age series before anything arrived") {
  tandem::node_info info;
  info.config.name = "C";
  auto doc = nlohmann::json::parse(tandem::node_status_json(info, {}, journal_with_inbound()));
  tandem::node_metrics m;
  const auto text = m.expose(doc);
  CHECK(text.find("\ntandem_inbound_records_total{origin=\"A\"} 500\n") != std::string::npos);
  CHECK(text.find("\ntandem_inbound_received_records_total{origin=\"A\"} 300\n") != std::string::npos);
  CHECK(text.find("\ntandem_inbound_highest_origin_seq{origin=\"A\"} 1764870000500\n") != std::string::npos);
  CHECK(text.find("\ntandem_inbound_last_received_age_seconds{origin=\"A\"} 2.5\n") != std::string::npos);
  CHECK(text.find("\ntandem_inbound_records_total{origin=\"C\"} 0\n") != std::string::npos);
  CHECK(text.find("tandem_inbound_last_received_age_seconds{origin=\"C\"}") == std::string::npos);
  CHECK(text.find("\ntandem_inbound_origins 2\n") != std::string::npos);
  CHECK(text.find("\ntandem_inbound_untracked_records_total 4\n") != std::string::npos);
}

TEST_CASE("node metrics: a destination gone from the document loses its series; one without destinations keeps them") {
  const auto dest = [](const char* name, const char* group) {
    return nlohmann::json{{"name", name}, {"group", group}, {"connected", true}, {"records_sent", 7},
                          {"protocol_violations", {{"bad_frame", 1}}}, {"validation", {{"problems", nlohmann::json::array()}}}};
  };
  const auto held = [](const char* name) { return nlohmann::json{{"destination", name}, {"bytes", 10}, {"segments", 1}}; };
  nlohmann::json doc{{"name", "A"}, {"group", "A"},
                     {"destinations", {dest("B", "B"), dest("G", "G")}},
                     {"journal", {{"held_back", {held("B"), held("G")}}}}};
  tandem::node_metrics m;
  auto text = m.expose(doc);
  CHECK(text.find("tandem_destination_records_sent_total{destination=\"G\",group=\"G\"} 7") != std::string::npos);
  CHECK(text.find("tandem_journal_held_back_bytes{destination=\"G\"} 10") != std::string::npos);
  CHECK(text.find("tandem_destination_validation_problems{destination=\"G\"") != std::string::npos);
  CHECK(text.find("tandem_destination_protocol_violations_total{destination=\"G\"") != std::string::npos);

  auto no_destinations = doc; // the supervisor could not list them: nothing is dropped
  no_destinations.erase("destinations");
  CHECK(m.expose(no_destinations).find("destination=\"G\"") != std::string::npos);

  doc["destinations"] = {dest("B", "B2")}; // G removed by a reload; B's group changed
  doc["journal"]["held_back"] = {held("B")};
  text = m.expose(doc);
  CHECK(text.find("destination=\"G\"") == std::string::npos);
  CHECK(text.find("group=\"B\"") == std::string::npos);
  CHECK(text.find("tandem_destination_records_sent_total{destination=\"B\",group=\"B2\"} 7") != std::string::npos);
  CHECK(text.find("tandem_journal_held_back_bytes{destination=\"B\"} 10") != std::string::npos);
}
