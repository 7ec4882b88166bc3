#include "actors/node_status.hpp"

#include <nlohmann/json.hpp>

namespace tandem {

namespace {

nlohmann::ordered_json listener(const config::listener_config& l, std::uint16_t bound, const char* state) {
  return {{"address", l.address}, {"port", bound}, {"state", state}};
}

// The inbound view (issue 17), kept by the journal (it sees every record stored), is served at
// the top level, next to the destinations: it is about what flows in, not the journal's files.
nlohmann::ordered_json take_inbound(nlohmann::ordered_json& journal) {
  if (!journal.is_object())
    return {};
  auto in = journal.find("inbound");
  if (in == journal.end())
    return {};
  auto out = std::move(*in);
  journal.erase(in);
  return out;
}

} // namespace

std::string node_status_json(const node_info& info, const runtime_figures& now, const std::string& journal_json) {
  const auto& c = info.config;
  nlohmann::ordered_json j;
  j["name"] = c.name;
  j["group"] = c.group;
  j["instance_id"] = info.instance_id;
  j["state"] = "running";
  j["version"] = info.version;
  j["caf_version"] = info.caf_version;
  j["pid"] = info.pid;
  j["started_unix_ms"] = info.started_unix_ms;
  j["uptime_s"] = static_cast<double>(now.now_unix_ms - info.started_unix_ms) / 1000.0;
  j["data_dir"] = c.data_dir;
  j["listeners"] = {{"replication", listener(c.replication, info.replication_port, "listening")},
                    {"client", listener(c.client, info.client_port, "listening")},
                    {"admin", listener(c.admin, info.admin_port, "listening")}};
  auto dests = nlohmann::ordered_json::array();
  for (const auto& d : c.destinations) {
    auto addrs = nlohmann::ordered_json::array();
    for (const auto& a : d.addresses)
      addrs.push_back(a.host + ":" + std::to_string(a.port));
    dests.push_back({{"name", d.name},
                     {"group", d.group},
                     {"sync_type", d.type == config::sync_type::sync ? "sync" : "async"},
                     {"addresses", addrs},
                     {"connected", false}});
  }
  auto journal = nlohmann::ordered_json::parse(journal_json, nullptr, false);
  // Sync downgrade state (issue 16), kept by the journal (it owns the ack rule): per destination.
  if (journal.is_object())
    if (auto ss = journal.find("sync_states"); ss != journal.end() && ss->is_object())
      for (auto& d : dests)
        if (auto it = ss->find(d["name"].get<std::string>()); it != ss->end() && it->is_object())
          for (auto f = it->begin(); f != it->end(); ++f)
            if (f.key() != "sync_type")
              d[f.key()] = f.value();
  j["destinations"] = dests;
  j["inbound"] = take_inbound(journal);
  j["journal"] = journal.is_discarded() ? nlohmann::ordered_json{} : journal;
  j["actors"] = {{"running", now.running_actors}, {"scheduler_threads", now.scheduler_threads}};
  return j.dump();
}

nlohmann::ordered_json destinations_summary(const nlohmann::ordered_json& destinations) {
  auto u64 = [](const nlohmann::ordered_json& d, const char* k) -> std::uint64_t {
    auto it = d.find(k);
    return it != d.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
  };
  auto flag = [](const nlohmann::ordered_json& d, const char* k) {
    auto it = d.find(k);
    return it != d.end() && it->is_boolean() && it->get<bool>();
  };
  std::uint64_t count = 0, connected = 0, sync = 0, sync_connected = 0, stalled = 0;
  std::uint64_t max_lag = 0, lag_total = 0, in_flight = 0, sent = 0;
  double max_lag_s = 0;
  std::string slowest;
  if (destinations.is_array())
    for (const auto& d : destinations) {
      if (!d.is_object())
        continue;
      ++count;
      const bool up = flag(d, "connected"), is_sync = d.value("sync_type", "") == "sync";
      connected += up;
      sync += is_sync;
      sync_connected += is_sync && up;
      stalled += flag(d, "stalled");
      const auto lag = u64(d, "lag_records");
      lag_total += lag;
      if (lag > max_lag) { // the first of the most lagging; none when nothing lags
        max_lag = lag;
        slowest = d.value("name", "");
      }
      if (auto it = d.find("lag_seconds"); it != d.end() && it->is_number())
        max_lag_s = std::max(max_lag_s, it->get<double>());
      in_flight += u64(d, "in_flight_bytes");
      sent += u64(d, "records_sent");
    }
  nlohmann::ordered_json j;
  j["count"] = count;
  j["connected"] = connected;
  j["not_connected"] = count - connected;
  j["sync"] = sync;
  j["sync_connected"] = sync_connected;
  j["stalled"] = stalled;
  j["max_lag_records"] = max_lag;
  j["max_lag_seconds"] = max_lag_s;
  j["slowest"] = slowest; // "" when nothing lags
  j["lag_records_total"] = lag_total;
  j["in_flight_bytes_total"] = in_flight;
  j["records_sent_total"] = sent;
  return j;
}

} // namespace tandem
