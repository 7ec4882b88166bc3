// Publishing from the integration tests: n messages through one publisher on its own connection
// to a test_node, topic "orders.<publisher_id>". Shared by the replication, one-connection,
// failover and journal-loss tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "client/client_connection.hpp"
#include "client/publisher.hpp"
#include "tests/tools/cluster_fixture.hpp"

namespace tandem::test {

struct publish_result {
  std::uint64_t persisted = 0;
  std::uint64_t negative = 0;
  std::string error; // empty when every publish was sent and every ack arrived
};

struct publish_spec {
  std::size_t window = 64;      // unacknowledged publishes at most
  std::size_t payload_bytes = 100;
  bool numbered = false;        // payload "payload <i>" instead of payload_bytes of 'x'
  std::chrono::milliseconds ack_wait{30000};
};

inline publish_result publish_n(const test_node& node, const std::string& publisher_id, int n,
                                const publish_spec& spec = {}) {
  using namespace std::chrono_literals;
  publish_result out;
  client::client_connection c;
  if (auto err = c.connect("127.0.0.1", node.ports().client, publisher_id, 5s); !err.empty()) {
    out.error = err;
    return out;
  }
  client::publisher p{c, client::publisher_options{publisher_id, spec.window}};
  const std::string payload(spec.payload_bytes, 'x');
  for (int i = 0; i < n; ++i)
    if (!p.publish("orders." + publisher_id, spec.numbered ? "payload " + std::to_string(i) : payload, 10s)) {
      out.error = p.error();
      break;
    }
  if (!p.wait_all(spec.ack_wait) && out.error.empty())
    out.error = "acks missing: " + p.error();
  out.persisted = p.counters().persisted;
  out.negative = p.counters().negative;
  return out;
}

} // namespace tandem::test
