// GET /metrics on a running pair: the Prometheus exposition carries the replication figures an
// operator graphs (records sent per destination, process memory), with the 0.0.4 content type,
// and passes promtool's checks (naming conventions, well-formed text).
#include <sstream>

#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "client/publisher.hpp"
#include "tests/tools/cluster_fixture.hpp"

using namespace tandem::test;
using tandem::client::client_connection;
using tandem::client::publisher;
using tandem::client::publisher_options;

namespace {

void start_sync_pair(test_node& a, test_node& b) { start_pair(a, b, "sync"); }

// Publishes n messages to `node` and waits for every persisted ack (sync: B has them too).
void publish_acked(const test_node& node, int n) {
  client_connection c;
  auto err = c.connect("127.0.0.1", node.ports().client, "metrics-pub", 5s);
  REQUIRE_MESSAGE(err.empty(), err);
  publisher p{c, publisher_options{"metrics-pub", 64}};
  for (int i = 0; i < n; ++i)
    REQUIRE_MESSAGE(p.publish("orders.metrics", std::string(100, 'x'), 10s), p.error());
  REQUIRE_MESSAGE(p.wait_all(30s), p.error());
  CHECK(p.counters().persisted == static_cast<std::uint64_t>(n));
}

// The value of the first sample line starting with `series`, or -1.
double sample_value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series, 0) == 0)
      return std::stod(line.substr(line.rfind(' ') + 1));
  return -1;
}

} // namespace

TEST_CASE("GET /metrics on a sync pair exposes per-destination counters and process figures, promtool-clean") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_sync_pair(a, b);
  publish_acked(a, 50);

  auto r = admin_get(a.ports().admin, "/metrics");
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(r.status == 200);
  const auto& body = r.body;
  CHECK_MESSAGE(sample_value(body, "tandem_destination_records_sent_total{destination=\"B\"") >= 50, body);
  CHECK(sample_value(body, "tandem_destination_connected{destination=\"B\"") == 1);
  CHECK(sample_value(body, "tandem_journal_durable_seq") >= 50);
  CHECK(sample_value(body, "tandem_client_persisted_total") >= 50);
  CHECK(sample_value(body, "process_resident_memory_bytes") > 0);
  CHECK(sample_value(body, "caf_system_running_actors") > 0);

  // The raw response names the exposition format.
  auto raw = poke(a.ports().admin, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 3s);
  REQUIRE(raw.has_value());
  CHECK_MESSAGE(raw->find("text/plain; version=0.0.4") != std::string::npos, raw->substr(0, 300));

  auto file = dir / "metrics.txt";
  write_file(file, body);
  auto check = run({"/bin/sh", "-c", "promtool check metrics < '" + file + "'"});
  CHECK_MESSAGE(check.exit_code == 0, "promtool:\n" << check.out << check.err << "\nbody:\n" << body);
}
