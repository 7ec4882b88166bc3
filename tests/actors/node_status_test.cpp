// destinations_summary (actors/node_status.hpp): the aggregates /status and /metrics show next to
// the per-destination rows.
#include <doctest/doctest.h>

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
