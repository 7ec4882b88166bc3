// Replication across a slow, distant link (issue 20 part 4), with real tandemd processes: B runs
// in its own network namespace behind a veth pair with a tc tbf rate limit on both ends
// (tests/support/wan_link.hpp), and A dials B through the userspace delay proxy
// (tests/support/delay_proxy.hpp), 25 ms each way:
//
//   A --loopback--> delay proxy (25 ms each way) --veth, tbf 100 Mbit/s--> B (namespace)
//
// Measured: every record of A ends on B exactly once (async and sync; lz4 and zstd links); the link moves no more
// than the tbf rate; a sync publish at 1 outstanding costs the round trip (>= 50 ms) and not much
// more. Needs root (network namespaces, tc).
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "client/percentile.hpp"
#include "client/publisher.hpp"
#include "tests/support/delay_proxy.hpp"
#include "tests/support/wan_link.hpp"
#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem::test;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

using json = nlohmann::json;

constexpr milliseconds one_way{25};
constexpr std::uint64_t link_bits_per_s = 100'000'000;

// B inside the link's namespace: replication and admin on there_address() (A and the test reach
// it through the veth), client on the namespace's own loopback.
class far_node {
public:
  far_node(const temp_dir& dir, const wan_link& link) : dir_(dir), link_(link), node_(dir, "B") {
    node_.configure({}, {{"replication", {{"address", link.there_address()}}}, {"admin", {{"address", link.there_address()}}}});
  }
  const test_node& node() const { return node_; }
  std::string log() const { return proc_ ? proc_->stderr_text() : std::string{}; }

  bool start() {
    auto argv = link_.exec_prefix();
    argv.insert(argv.end(), {tandemd_path(), "--config", node_.config_file()});
    proc_ = std::make_unique<child_process>(argv, dir_.path(), dir_.path());
    return wait_until(
      [&] {
        auto r = tandem::client::http_get(link_.there_address(), node_.ports().admin, "/healthz", milliseconds{1000});
        return !proc_->running() || (r.ok && r.status == 200);
      },
      10s, 20ms)
           && proc_->running();
  }
  int stop() { return proc_->terminate("B"); }

private:
  const temp_dir& dir_;
  const wan_link& link_;
  test_node node_;
  std::unique_ptr<child_process> proc_;
};

// The rig and both nodes; torn down in reverse order (A, proxy, B, then the namespace).
struct wan_pair {
  wan_link link{"wanrig"};
  temp_dir dir_a, dir_b;
  std::optional<far_node> b;
  std::optional<delay_proxy> proxy;
  std::optional<test_node> a;

  // compression: A's destination setting ("none" is the default; B needs none to take either).
  explicit wan_pair(const std::string& sync_type, const std::string& compression = "none") {
    REQUIRE_MESSAGE(::geteuid() == 0, "network namespaces and tc need root (CAP_NET_ADMIN); euid is " << ::geteuid());
    auto err = link.create();
    REQUIRE_MESSAGE(err.empty(), "cannot set up the namespace: " << err);
    err = link.set_rate(link_bits_per_s);
    REQUIRE_MESSAGE(err.empty(), "cannot set the tbf rate: " << err);
    b.emplace(dir_b, link);
    REQUIRE_MESSAGE(b->start(), "B did not start:\n" << b->log());
    delay_proxy_options o;
    o.target_host = link.there_address();
    o.target_port = b->node().ports().replication;
    o.one_way_delay = one_way;
    proxy.emplace(o);
    a.emplace(dir_a, "A");
    a->configure({}, {{"destinations", json::array({{{"name", "B"},
                                                     {"sync_type", sync_type},
                                                     {"compression", compression},
                                                     {"addresses", {proxy->address()}},
                                                     {"reconnect", {{"initial_ms", 50}, {"max_ms", 500}}}}})}});
    a->start();
    REQUIRE_MESSAGE(wait_until([&] { return a->connected_to("B"); }, 10s, 20ms), logs());
  }

  std::string logs() const { return "A log:\n" + a->log() + "\nB log:\n" + b->log() + "\n" + link.qdisc_stats(); }

  // B acknowledged everything A's journal holds durably.
  bool caught_up() const {
    const auto d = a->destination("B");
    const auto durable = a->durable_seq();
    return d.is_object() && durable > 0 && d.value("acked", std::uint64_t{0}) == durable;
  }

  // Stops both nodes, then checks B's journal holds A's records base .. base + n - 1 once each.
  void stop_and_check_each_once(std::uint64_t base, std::uint64_t n) {
    CHECK_MESSAGE(a->stop() == 0, logs());
    CHECK_MESSAGE(b->stop() == 0, logs());
    const auto records = b->node().journal_records();
    const auto counts = count_by_origin(records);
    std::uint64_t present = 0;
    for (std::uint64_t s = 0; s < n; ++s)
      present += counts.count({"A", base + s});
    CHECK(present == n);
    CHECK(counts.size() == n);
    CHECK(records.size() == n);
  }
};

} // namespace

TEST_CASE("wan rig: async replication through 25 ms each way and 100 Mbit/s delivers every record once, at no more than the link's rate") {
  wan_pair pair{"async"};
  const auto base = pair.a->base_seq();
  const auto bytes0 = pair.proxy->counters().bytes_to_target;
  const auto t0 = steady_clock::now();
  // 20 MB: 1.6 s at the link's 12.5 MB/s; A takes it in far faster (async acks are local).
  auto r = publish_n(*pair.a, "w1", 20'000, {.window = 512, .payload_bytes = 1000});
  REQUIRE_MESSAGE(r.error.empty(), r.error);
  REQUIRE_MESSAGE(wait_until([&] { return pair.caught_up(); }, 60s, 5ms), pair.logs());
  const double secs = std::chrono::duration<double>(steady_clock::now() - t0).count();
  const double bytes = static_cast<double>(pair.proxy->counters().bytes_to_target - bytes0);
  const double link_bytes_per_s = static_cast<double>(link_bits_per_s) / 8;
  MESSAGE("20,000 records of 1000 B: " << bytes / 1e6 << " MB on the wire in " << secs << " s = "
                                       << bytes / secs / link_bytes_per_s * 100 << "% of the link's 12.5 MB/s");
  CHECK(bytes >= 20e6);
  CHECK_MESSAGE(bytes / secs <= 1.1 * link_bytes_per_s, "the tbf limit did not hold\n" << pair.link.qdisc_stats());
  CHECK(bytes / secs >= 0.25 * link_bytes_per_s); // the rig is slow, not broken (the bench judges the real ratio)
  pair.stop_and_check_each_once(base, r.persisted);
}

TEST_CASE("wan rig: a sync publish at 1 outstanding costs one 50 ms round trip, and every record lands once") {
  wan_pair pair{"sync"};
  const auto base = pair.a->base_seq();
  tandem::client::client_connection c;
  REQUIRE(c.connect("127.0.0.1", pair.a->ports().client, "rtt", 5s).empty());
  tandem::client::publisher p{c, tandem::client::publisher_options{"rtt", 1}};
  for (int i = 0; i < 20; ++i)
    REQUIRE_MESSAGE(p.publish("orders.rtt", "ping " + std::to_string(i), 10s), p.error());
  REQUIRE_MESSAGE(p.wait_all(10s), p.error());
  const auto& lat = p.counters().ack_latencies;
  REQUIRE(lat.size() == 20);
  const double min_ms = std::chrono::duration<double, std::milli>(*std::min_element(lat.begin(), lat.end())).count();
  const double p50_ms = std::chrono::duration<double, std::milli>(tandem::client::percentile(lat, 50)).count();
  const double rtt_ms = 2.0 * static_cast<double>(one_way.count());
  MESSAGE("sync ack latency at 1 outstanding: min " << min_ms << " ms, p50 " << p50_ms << " ms; RTT " << rtt_ms << " ms");
  CHECK(min_ms >= rtt_ms);      // the ack waited for B, across the proxy both ways
  CHECK(p50_ms <= rtt_ms + 50); // one round trip, not two (two fdatasyncs and a loaded machine in the slack)
  c.close();
  auto r = publish_n(*pair.a, "w2", 2000, {.window = 256, .payload_bytes = 1000});
  REQUIRE_MESSAGE(r.error.empty(), r.error);
  CHECK(r.negative == 0);
  REQUIRE_MESSAGE(wait_until([&] { return pair.caught_up(); }, 30s, 5ms), pair.logs());
  pair.stop_and_check_each_once(base, 20 + r.persisted);
}

// Issue 20's "every setting": the compressing links across the same rig. Payloads of one repeated
// byte compress well, so the proxy (which counts what crosses the delayed, rate-limited path)
// must see far fewer bytes than the records' frames hold.
TEST_CASE("wan rig: lz4 and zstd links through 25 ms each way and 100 Mbit/s deliver every record once, compressed on the wire") {
  for (const std::string algorithm : {"lz4", "zstd"}) {
    CAPTURE(algorithm);
    wan_pair pair{"async", algorithm};
    const auto base = pair.a->base_seq();
    const auto bytes0 = pair.proxy->counters().bytes_to_target;
    auto r = publish_n(*pair.a, "wz", 10'000, {.window = 512, .payload_bytes = 1000});
    REQUIRE_MESSAGE(r.error.empty(), r.error);
    REQUIRE_MESSAGE(wait_until([&] { return pair.caught_up(); }, 60s, 5ms), pair.logs());
    const auto c = pair.a->destination("B")["compression"];
    CAPTURE(c.dump());
    CHECK(c["in_use"] == algorithm);
    CHECK(c["errors"] == 0);
    const auto before = c["bytes_before"].get<std::uint64_t>();
    const auto wire = pair.proxy->counters().bytes_to_target - bytes0;
    MESSAGE(algorithm << ": " << before << " B of record frames crossed the rig as " << wire << " B");
    CHECK(before >= 10'000'000);     // every record went through the compressing link
    CHECK(wire * 4 < before);        // compressed on the wire (the hello and acks' way back are not counted)
    pair.stop_and_check_each_once(base, r.persisted);
  }
}

// A test or bench that is SIGKILLed runs no destructor and leaves its namespace and veth pair
// behind; the next rig removes them (and a stale one would hold the same 10.79.K.0/24).
TEST_CASE("wan rig: a rig left behind by a SIGKILLed process is removed by the next create()") {
  REQUIRE_MESSAGE(::geteuid() == 0, "network namespaces need root (CAP_NET_ADMIN); euid is " << ::geteuid());
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) { // makes a rig, says so, and waits to be killed
    ::close(ready[0]);
    wan_link stale{"stale"};
    const char ok = stale.create().empty() ? 'y' : 'n';
    if (::write(ready[1], &ok, 1) != 1)
      ::_exit(3);
    for (;;)
      ::pause();
  }
  ::close(ready[1]);
  char got = 0;
  pollfd p{ready[0], POLLIN, 0};
  const bool answered = ::poll(&p, 1, 30000) == 1 && ::read(ready[0], &got, 1) == 1;
  ::close(ready[0]);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE_MESSAGE(answered, "the child did not report within 30 s");
  REQUIRE_MESSAGE(got == 'y', "the child could not create its rig");
  const std::string stale_ns = "tdm-stale-" + std::to_string(child), stale_veth = "twh" + std::to_string(child);
  auto listed = run_command({"/usr/sbin/ip", "netns", "list"}, 10000ms);
  REQUIRE_MESSAGE(listed.output.find(stale_ns) != std::string::npos, "the SIGKILLed child's namespace is not there:\n"
                                                                       << listed.output);
  REQUIRE(run_command({"/usr/sbin/ip", "link", "show", stale_veth}, 10000ms).exit_code == 0);

  wan_link next{"sweeper"};
  REQUIRE(next.create().empty());
  CHECK(std::find(next.swept().begin(), next.swept().end(), stale_ns) != next.swept().end());
  listed = run_command({"/usr/sbin/ip", "netns", "list"}, 10000ms);
  CHECK_MESSAGE(listed.output.find(stale_ns) == std::string::npos, listed.output);
  CHECK(run_command({"/usr/sbin/ip", "link", "show", stale_veth}, 10000ms).exit_code != 0);
  // The live rig is kept: it is this process's own, made after the sweep.
  CHECK(listed.output.find(next.ns()) != std::string::npos);
}
