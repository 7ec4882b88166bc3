// tandem: the operator's command-line client.
//
//   tandem status [--admin HOST:PORT] [--json] [--timeout-ms N]
//
// `status` asks a node's admin listener for GET /status and renders it; --json prints it raw.
#include <cstdlib>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "client/http_get.hpp"

namespace {

const char* usage = R"(usage:
  tandem status [--admin HOST:PORT] [--json] [--timeout-ms N]
      Show a node's status (default admin endpoint 127.0.0.1:27102).
  tandem --help

exit codes: 0 ok, 1 the node did not answer, 2 usage error
)";

[[noreturn]] void usage_error(const std::string& problem) {
  std::cerr << "tandem: " << problem << "\n(tandem --help shows the usage)\n";
  std::exit(2);
}

void render(const nlohmann::json& s) {
  auto str = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  std::cout << "node        " << str(s.value("name", nlohmann::json{})) << " (group "
            << str(s.value("group", nlohmann::json{})) << ")\n"
            << "state       " << str(s.value("state", nlohmann::json{})) << "\n"
            << "version     " << str(s.value("version", nlohmann::json{})) << " (CAF "
            << str(s.value("caf_version", nlohmann::json{})) << "), pid " << str(s.value("pid", nlohmann::json{}))
            << "\n"
            << "uptime      " << str(s.value("uptime_s", nlohmann::json{})) << " s\n"
            << "data dir    " << str(s.value("data_dir", nlohmann::json{})) << "\n";
  if (s.contains("listeners") && s["listeners"].is_object())
    for (const auto& [role, l] : s["listeners"].items())
      std::cout << "listener    " << role << " " << str(l.value("address", nlohmann::json{})) << ":"
                << str(l.value("port", nlohmann::json{})) << " (" << str(l.value("state", nlohmann::json{}))
                << ")\n";
  if (s.contains("actors"))
    std::cout << "actors      " << str(s["actors"].value("running", nlohmann::json{})) << " running\n";
  const auto& dests = s.contains("destinations") ? s["destinations"] : nlohmann::json::array();
  std::cout << "destinations " << dests.size() << "\n";
  for (const auto& d : dests)
    std::cout << "  " << str(d.value("name", nlohmann::json{})) << "  " << str(d.value("sync_type", nlohmann::json{}))
              << "  " << (d.value("connected", false) ? "connected" : "not connected") << "  "
              << d.value("addresses", nlohmann::json::array()).dump() << "\n";
}

int status(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 27102;
  bool json = false;
  int timeout_ms = 3000;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--json") {
      json = true;
    } else if (a == "--admin") {
      auto hp = value();
      auto colon = hp.rfind(':');
      if (colon == std::string::npos || colon == 0)
        usage_error("--admin: expected HOST:PORT, got '" + hp + "'");
      host = hp.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
      port = std::atoi(hp.c_str() + colon + 1);
      if (port <= 0 || port > 65535)
        usage_error("--admin: port out of range in '" + hp + "'");
    } else if (a == "--timeout-ms") {
      timeout_ms = std::atoi(value().c_str());
      if (timeout_ms <= 0)
        usage_error("--timeout-ms: expected a positive number");
    } else {
      usage_error("unknown argument '" + a + "'");
    }
  }
  auto r = tandem::client::http_get(host, static_cast<std::uint16_t>(port), "/status",
                                    std::chrono::milliseconds{timeout_ms});
  if (!r.ok || r.status != 200) {
    std::cerr << "tandem: no status from " << host << ":" << port << ": "
              << (r.ok ? "HTTP " + std::to_string(r.status) : r.error) << "\n";
    return 1;
  }
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    std::cerr << "tandem: " << host << ":" << port << " answered /status with something that is not a JSON object\n";
    return 1;
  }
  if (json)
    std::cout << doc.dump(2) << "\n";
  else
    render(doc);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    usage_error("missing command");
  std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << usage;
    return 0;
  }
  if (cmd == "status")
    return status(argc, argv);
  usage_error("unknown command '" + cmd + "'");
}
