#include "actors/node_status.hpp"

#include <nlohmann/json.hpp>

namespace tandem {

namespace {

nlohmann::ordered_json listener(const config::listener_config& l, std::uint16_t bound, const char* state) {
  return {{"address", l.address}, {"port", bound}, {"state", state}};
}

} // namespace

std::string node_status_json(const node_info& info, const runtime_figures& now, const std::string& journal_json) {
  const auto& c = info.config;
  nlohmann::ordered_json j;
  j["name"] = c.name;
  j["group"] = c.group;
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
  j["destinations"] = dests;
  auto journal = nlohmann::ordered_json::parse(journal_json, nullptr, false);
  j["journal"] = journal.is_discarded() ? nlohmann::ordered_json{} : journal;
  j["actors"] = {{"running", now.running_actors}, {"scheduler_threads", now.scheduler_threads}};
  return j.dump();
}

} // namespace tandem
