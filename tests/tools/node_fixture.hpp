// Starts a real tandemd with runtime-chosen ports in a temp dir and waits until its admin endpoint
// answers. Shared by the tandemd integration tests.
#pragma once

#include <string>
#include <vector>

#include "client/http_get.hpp"
#include "tests/support/process.hpp"

namespace tandem::test {

struct node_ports {
  std::uint16_t replication = free_port();
  std::uint16_t client = free_port();
  std::uint16_t admin = free_port();

  std::vector<std::string> as_overrides() const {
    return {"--set", "replication.port=" + std::to_string(replication), "--set",
            "client.port=" + std::to_string(client), "--set", "admin.port=" + std::to_string(admin)};
  }
};

// tandemd's argv: the embedded default (or whatever `extra` says) on `ports`.
inline std::vector<std::string> tandemd_args(const node_ports& ports, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{tandemd_path()};
  for (auto& a : ports.as_overrides())
    argv.push_back(a);
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

inline client::http_result admin_get(std::uint16_t port, const std::string& path) {
  return client::http_get("127.0.0.1", port, path, std::chrono::milliseconds{1000});
}

// True once GET /healthz answers 200 (or false when the process died or the deadline passed).
inline bool wait_until_up(child_process& p, std::uint16_t admin_port, std::chrono::milliseconds timeout = 10s) {
  return wait_until(
    [&] {
      if (!p.running())
        return true; // stop waiting; the caller checks running()
      auto r = admin_get(admin_port, "/healthz");
      return r.ok && r.status == 200;
    },
    timeout, 20ms)
         && p.running();
}

} // namespace tandem::test
