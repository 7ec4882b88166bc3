// A link's in-flight bound grows with a long ack turn (issue 20 part 2, actors/logic/window_sizer.hpp),
// with real tandemd processes: A dials B through the userspace delay proxy, 50 ms each way
// (tests/support/delay_proxy.hpp; loopback, no bandwidth limit, no namespace), with a floor of
// 256 KiB. With the floor alone a link moves at most (floor + one batch) per 100 ms turn, about
// 5.4 MB/s; the catch-up of a 30 MB backlog must run 1.2x faster, A's link must have had more than
// that in flight, /status and /metrics must show the turn (>= 100 ms) and the grown window, and
// B must end with every record exactly once.
// Why 100 ms: the rate check needs the host to move well over 1.2x the floor's rate. With a 50 ms
// turn (10.5 MB/s) it failed once in CI's ASan stage on 2 shared cores: the window had grown to
// 6.6 MB, but the catch-up was CPU-bound at 10.9 MB/s. With the 100 ms turn it ran at 14.8 and 18.6 MB/s
// under ASan in two CI runs (it needs 6.5).
#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "tests/support/delay_proxy.hpp"
#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem::test;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

constexpr milliseconds one_way{50};
constexpr std::uint64_t floor_bytes = 256u << 10;
constexpr std::uint64_t batch_bytes = (256u << 10) + (16u << 10); // one read past the bound, framed

// The value of `name{destination="B",...}` in a Prometheus text page; -1 when absent.
double metric_for_b(const std::string& page, const std::string& name) {
  std::istringstream in{page};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(name + "{", 0) == 0 && line.find("destination=\"B\"") != std::string::npos)
      return std::stod(line.substr(line.rfind(' ') + 1));
  return -1;
}

} // namespace

TEST_CASE("window growth: over a 100 ms round trip a link catches up faster than its 256 KiB floor allows, "
          "and /status and /metrics show the turn and the window") {
  temp_dir dir;
  test_node b{dir, "B"};
  b.configure({});
  delay_proxy_options o;
  o.target_host = "127.0.0.1";
  o.target_port = b.ports().replication;
  o.one_way_delay = one_way;
  delay_proxy proxy{o};
  test_node a{dir, "A"};
  a.configure({}, {{"destinations", nlohmann::json::array({{{"name", "B"},
                                                             {"sync_type", "async"},
                                                             {"addresses", {proxy.address()}},
                                                             {"validation", "warn"},
                                                             {"reconnect", {{"initial_ms", 50}, {"max_ms", 200}}}}})},
                   {"limits", {{"max_in_flight_bytes", floor_bytes}, {"max_in_flight_bytes_total", floor_bytes}}}});
  a.start();
  // The backlog, while B is down: 30,000 records of 1000 B.
  const auto base = a.base_seq();
  auto r = publish_n(a, "grow", 30'000, {.window = 512, .payload_bytes = 1000});
  REQUIRE_MESSAGE(r.error.empty(), r.error);
  REQUIRE(r.persisted == 30'000);

  b.start();
  const auto t_limit = steady_clock::now() + 60s;
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B"); }, 20s, 2ms), a.log());
  const auto t0 = steady_clock::now();
  const auto bytes0 = proxy.counters().bytes_to_target;
  std::uint64_t max_in_flight = 0, max_window = 0;
  const auto durable = a.durable_seq();
  bool done = false;
  while (!done && steady_clock::now() < t_limit) {
    const auto d = a.destination("B");
    if (d.is_object()) {
      max_in_flight = std::max(max_in_flight, d.value("in_flight_bytes", std::uint64_t{0}));
      if (d.contains("window"))
        max_window = std::max(max_window, d["window"].value("bytes", std::uint64_t{0}));
      done = d.value("acked", std::uint64_t{0}) >= durable;
    }
    if (!done)
      std::this_thread::sleep_for(5ms); // a poll interval, not a wait for a condition
  }
  REQUIRE_MESSAGE(done, "B did not catch up\nA log:\n" << a.log() << "\nB log:\n" << b.log());
  const double secs = std::chrono::duration<double>(steady_clock::now() - t0).count();
  const double bytes = static_cast<double>(proxy.counters().bytes_to_target - bytes0);
  const double rtt_s = 2 * std::chrono::duration<double>(one_way).count();
  const double floor_rate = static_cast<double>(floor_bytes + batch_bytes) / rtt_s;
  const auto d = a.destination("B");
  const auto& w = d["window"];
  MESSAGE("catch-up of " << bytes / 1e6 << " MB in " << secs << " s = " << bytes / secs / 1e6
                         << " MB/s; the floor allows at most " << floor_rate / 1e6 << " MB/s; in flight max "
                         << max_in_flight << " B, window max " << max_window << " B; status window " << w.dump());
  CHECK(bytes >= 30e6);
  CHECK(max_in_flight > floor_bytes + batch_bytes); // more than the floor ever lets out
  CHECK(max_window > floor_bytes);
  CHECK(bytes / secs > 1.2 * floor_rate);
  CHECK(w.value("floor_bytes", std::uint64_t{0}) == floor_bytes);
  CHECK(w.value("ceiling_bytes", std::uint64_t{0}) == 64u << 20);
  CHECK(w.value("min_rtt_ms", 0.0) >= 1e3 * rtt_s); // both delays are in every turn
  CHECK(w.value("rtt_ms", 0.0) >= 1e3 * rtt_s);
  CHECK(w.value("samples", std::uint64_t{0}) > 0);
  CHECK(w.value("ignored_samples", std::uint64_t{1}) == 0);

  auto m = admin_get(a.ports().admin, "/metrics");
  REQUIRE(m.ok);
  CHECK(metric_for_b(m.body, "tandem_destination_rtt_seconds") >= rtt_s);
  CHECK(metric_for_b(m.body, "tandem_destination_window_bytes") == static_cast<double>(w.value("bytes", std::uint64_t{0})));

  // Every record on B exactly once.
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  const auto records = b.journal_records();
  const auto counts = count_by_origin(records);
  std::uint64_t present = 0;
  for (std::uint64_t s = 0; s < 30'000; ++s)
    present += counts.count({"A", base + s});
  CHECK(present == 30'000);
  CHECK(records.size() == 30'000);
}
