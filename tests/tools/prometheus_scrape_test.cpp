// A real Prometheus server (Debian package "prometheus") scrapes a live pair A <-> B on loopback,
// and its HTTP query API answers with what a dashboard would plot: B's lag on A and the mailbox
// size of A's link to B. Not skipped when prometheus is missing: a green run must mean it ran.
#include <cctype>
#include <cstdio>
#include <memory>
#include <unistd.h>

#include <doctest/doctest.h>

#include "tests/tools/cluster_fixture.hpp"

using namespace tandem::test;
using nlohmann::json;

namespace {

const char* prometheus_binary = "/usr/bin/prometheus";

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

// A Prometheus server on 127.0.0.1 scraping `targets` (host:port of admin listeners) as job
// "tandem", storing into `dir`. Killed by the child_process destructor; `dir` outlives it.
class prometheus_server {
public:
  prometheus_server(const temp_dir& dir, const std::vector<std::string>& targets) : port_(free_port()) {
    std::string list;
    for (const auto& t : targets)
      list += (list.empty() ? "'" : ", '") + t + "'";
    write_file(dir / "prometheus.yml", "global:\n"
                                       "  scrape_interval: 500ms\n"
                                       "  scrape_timeout: 400ms\n"
                                       "scrape_configs:\n"
                                       "  - job_name: tandem\n"
                                       "    static_configs:\n"
                                       "      - targets: [" + list + "]\n");
    // Loopback only; no lifecycle or admin API; nothing else to reach out to (no alertmanager,
    // no remote write, and this version has no update check).
    proc_ = std::make_unique<child_process>(
      std::vector<std::string>{prometheus_binary, "--config.file=" + (dir / "prometheus.yml"),
                               "--storage.tsdb.path=" + (dir / "prometheus-data"),
                               "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
      dir.path(), dir.path());
  }

  std::uint16_t port() const { return port_; }
  bool running() { return proc_->running(); }
  std::string log() const { return proc_->stderr_text(); }

  // Status and body of GET `target` in HTTP/1.0, so that Go answers unchunked and then closes.
  std::pair<int, std::string> get(const std::string& target) const {
    auto raw = poke(port_, "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", 3s);
    auto head_end = raw ? raw->find("\r\n\r\n") : std::string::npos;
    if (head_end == std::string::npos || raw->rfind("HTTP/1.", 0) != 0)
      return {0, raw.value_or("")};
    return {std::atoi(raw->c_str() + 9), raw->substr(head_end + 4)};
  }

  // The result vector of an instant query (empty when the query failed or matched nothing yet).
  json query(const std::string& promql) const {
    auto [status, body] = get("/api/v1/query?query=" + url_encode(promql));
    auto doc = json::parse(body, nullptr, false);
    if (status != 200 || !doc.is_object() || doc.value("status", "") != "success")
      return json::array();
    return doc["data"].value("result", json::array());
  }

private:
  std::uint16_t port_;
  std::unique_ptr<child_process> proc_;
};

// The sample value of one result of an instant query: ["<unix time>", "<value>"] -> value.
std::optional<double> sample_value(const json& series) {
  const auto& v = series.value("value", json::array());
  if (!v.is_array() || v.size() != 2 || !v[1].is_string())
    return std::nullopt;
  try {
    std::size_t used = 0;
    auto s = v[1].get<std::string>();
    double x = std::stod(s, &used);
    return used == s.size() ? std::optional<double>{x} : std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

} // namespace

TEST_CASE("a real Prometheus scrapes a pair: B's lag on A and the mailbox of A's link-B answer through its query API") {
  REQUIRE_MESSAGE(::access(prometheus_binary, X_OK) == 0,
                  prometheus_binary << " not found: install the Debian package with "
                                       "`apt-get install -y --no-install-recommends prometheus` (scripts/bootstrap does)");
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_pair(a, b, "sync");

  auto instance_a = "127.0.0.1:" + std::to_string(a.ports().admin);
  auto instance_b = "127.0.0.1:" + std::to_string(b.ports().admin);
  prometheus_server prom{dir, {instance_a, instance_b}};
  bool ready = wait_until([&] { return !prom.running() || prom.get("/-/ready").first == 200; }, 30s, 100ms);
  REQUIRE_MESSAGE((ready && prom.running()), "prometheus did not become ready:\n" << prom.log());

  auto pub = run({tandem_cli_path(), "publish", "--client", "127.0.0.1:" + std::to_string(a.ports().client), "--count",
                  "200", "--size", "100"},
                 ".", 20s);
  REQUIRE_MESSAGE(pub.exit_code == 0, pub.out << pub.err);

  // Both targets scraped and up.
  json up;
  CHECK_MESSAGE(wait_until([&] { return (up = prom.query("up{job=\"tandem\"} == 1")).size() == 2; }, 30s, 200ms),
                "up: " << up.dump() << "\ntargets: " << prom.get("/api/v1/targets").second << "\n" << prom.log());

  json lag, mailbox;
  CHECK_MESSAGE(wait_until(
                  [&] {
                    lag = prom.query("tandem_destination_lag_records{destination=\"B\",instance=\"" + instance_a + "\"}");
                    return !lag.empty();
                  },
                  30s, 200ms),
                "no lag series; targets: " << prom.get("/api/v1/targets").second);
  CHECK_MESSAGE(wait_until(
                  [&] {
                    mailbox = prom.query("caf_actor_mailbox_size{name=\"link-B\",instance=\"" + instance_a + "\"}");
                    return !mailbox.empty();
                  },
                  30s, 200ms),
                "no mailbox series; A's /metrics:\n" << admin_get(a.ports().admin, "/metrics").body);

  REQUIRE(lag.size() == 1);
  CHECK(lag[0]["metric"].value("job", "") == "tandem");
  auto lag_value = sample_value(lag[0]);
  REQUIRE_MESSAGE(lag_value.has_value(), lag.dump());
  CHECK(*lag_value >= 0);

  REQUIRE(mailbox.size() == 1);
  CHECK(mailbox[0]["metric"].value("instance", "") == instance_a);
  auto mailbox_value = sample_value(mailbox[0]);
  REQUIRE_MESSAGE(mailbox_value.has_value(), mailbox.dump());
  CHECK(*mailbox_value >= 0);
}
