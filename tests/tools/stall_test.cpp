// What an operator sees on A when its destination B stops answering: with B frozen (SIGSTOP)
// while publishes keep flowing into A, B's lag in records and seconds grows and the stall flag
// rises on A's /status and /metrics within metrics.stall_after_ms; after SIGCONT both fall back.
// Also `tandem status --watch` against a live pair.
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <optional>
#include <regex>
#include <thread>

#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "client/publisher.hpp"
#include "tests/tools/cluster_fixture.hpp"

using namespace tandem::test;
using nlohmann::json;
using tandem::client::client_connection;
using tandem::client::publisher;
using tandem::client::publisher_options;

namespace {

// Publishes to a node from its own thread until destroyed: rounds of 20 small messages, each round
// acked before the next, a round every 20 ms. With async destinations the node acks from its own
// journal, so records keep arriving while a destination is frozen.
class background_publisher {
public:
  explicit background_publisher(std::uint16_t client_port) : thread_([this, client_port] { run(client_port); }) {}
  ~background_publisher() {
    {
      std::lock_guard lock{mutex_};
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  background_publisher(const background_publisher&) = delete;
  background_publisher& operator=(const background_publisher&) = delete;

  std::uint64_t persisted() const { return persisted_; }
  std::string error() const {
    std::lock_guard lock{mutex_};
    return error_;
  }

private:
  void run(std::uint16_t port) {
    client_connection c;
    if (auto err = c.connect("127.0.0.1", port, "stall-pub", 5s); !err.empty())
      return fail(err);
    publisher p{c, publisher_options{"stall-pub", 64}};
    const std::string payload(100, 'x');
    std::unique_lock lock{mutex_};
    while (!stop_) {
      lock.unlock();
      for (int i = 0; i < 20; ++i)
        if (!p.publish("orders.stall", payload, 5s))
          return fail(p.error());
      if (!p.wait_all(5s))
        return fail("acks missing: " + p.error());
      persisted_ = p.counters().persisted;
      lock.lock();
      wake_.wait_for(lock, 20ms, [&] { return stop_; }); // pacing, ended early by the destructor
    }
  }
  void fail(const std::string& why) {
    std::lock_guard lock{mutex_};
    error_ = why;
  }

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::string error_;
  std::atomic<std::uint64_t> persisted_{0};
  std::thread thread_; // last: starts once the members it uses exist
};

// Resumes a SIGSTOPped node when the test ends, however it ends: the node's own destructor then
// kills it, and a frozen child must not outlive a failed assertion.
class frozen_node {
public:
  explicit frozen_node(test_node& node) : node_(node) { node_.signal(SIGSTOP); }
  ~frozen_node() { thaw(); }
  frozen_node(const frozen_node&) = delete;
  frozen_node& operator=(const frozen_node&) = delete;
  void thaw() {
    if (frozen_)
      node_.signal(SIGCONT);
    frozen_ = false;
  }

private:
  test_node& node_;
  bool frozen_ = true;
};

void start_async_pair(test_node& a, test_node& b, const json& a_extra = json::object()) {
  start_pair(a, b, "async", a_extra);
}

// The value of tandem_destination_stalled for `destination` in a /metrics body (labels in any
// order), or nullopt when the body has no such sample.
std::optional<double> stalled_sample(const std::string& body, const std::string& destination) {
  std::regex sample{"^tandem_destination_stalled\\{[^}]*destination=\"" + destination + "\"[^}]*\\} (\\S+)$",
                    std::regex::multiline};
  std::smatch m;
  if (!std::regex_search(body, m, sample))
    return std::nullopt;
  return std::stod(m[1].str());
}

std::optional<double> stalled_metric(const test_node& node, const std::string& destination) {
  auto r = admin_get(node.ports().admin, "/metrics");
  return r.ok && r.status == 200 ? stalled_sample(r.body, destination) : std::nullopt;
}

std::uint64_t u64(const json& d, const char* key) {
  return d.is_object() && d.contains(key) && d[key].is_number() ? d[key].get<std::uint64_t>() : 0;
}
double f64(const json& d, const char* key) {
  return d.is_object() && d.contains(key) && d[key].is_number() ? d[key].get<double>() : 0.0;
}
bool stalled(const json& d) {
  return d.is_object() && d.value("stalled", false);
}

} // namespace

TEST_CASE("a frozen destination: its lag and the stall flag rise on A within stall_after_ms, and fall after SIGCONT") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_async_pair(a, b, {{"metrics", {{"stall_after_ms", 500}}}});
  std::optional<background_publisher> pub{std::in_place, a.ports().client};

  // Healthy: records sent to B and acked by B both rise, and nothing is stalled.
  auto start = a.destination("B");
  REQUIRE_MESSAGE(wait_until(
                    [&] {
                      auto d = a.destination("B");
                      return u64(d, "records_sent") >= u64(start, "records_sent") + 100
                             && u64(d, "acked") >= u64(start, "acked") + 100;
                    },
                    10s, 50ms),
                  "publisher: " << pub->error() << "\nB on A: " << a.destination("B").dump());
  CHECK_FALSE(stalled(a.destination("B")));
  CHECK(stalled_metric(a, "B") == 0.0);

  std::optional<frozen_node> frozen{std::in_place, b};
  auto frozen_at = std::chrono::steady_clock::now();
  json seen;
  REQUIRE_MESSAGE(wait_until([&] { return stalled(seen = a.destination("B")); }, 5s, 50ms),
                  "no stall flag; B on A: " << seen.dump() << "\npublisher: " << pub->error());
  // stall_after_ms=500 after the last progress; generous for a loaded 2-core machine.
  CHECK(std::chrono::steady_clock::now() - frozen_at < 3s);
  CHECK(u64(seen, "lag_records") > 0);
  CHECK(f64(seen, "lag_seconds") > 0);
  CHECK(f64(seen, "stalled_for_s") >= 0);

  // Publishing goes on (async: A acks from its own journal), so the lag keeps growing.
  auto published = pub->persisted();
  json later;
  CHECK_MESSAGE(wait_until(
                  [&] {
                    later = a.destination("B");
                    return pub->persisted() > published && u64(later, "lag_records") > u64(seen, "lag_records")
                           && f64(later, "lag_seconds") > f64(seen, "lag_seconds") && stalled(later);
                  },
                  5s, 50ms),
                "first: " << seen.dump() << "\nlater: " << later.dump() << "\npublisher: " << pub->error());
  CHECK_MESSAGE(wait_until([&] { return stalled_metric(a, "B") == 1.0; }, 5s, 50ms),
                admin_get(a.ports().admin, "/metrics").body);

  // The operator's view names the alarm in B's row.
  auto watch = run({tandem_cli_path(), "status", "--watch", "--count", "1", "127.0.0.1:" + std::to_string(a.ports().admin)},
                   ".", 10s);
  CHECK(watch.exit_code == 0);
  CHECK_MESSAGE(std::regex_search(watch.out, std::regex{"\n  B +async +STALLED "}), watch.out);

  // Thawed while publishing goes on: progress resumes, so the flag falls.
  frozen->thaw();
  CHECK_MESSAGE(wait_until([&] { return !stalled(later = a.destination("B")) && stalled_metric(a, "B") == 0.0; }, 10s,
                           50ms),
                "B on A: " << later.dump());
  // Once publishing stops, B catches up completely.
  pub.reset();
  CHECK_MESSAGE(wait_until([&] { return u64(later = a.destination("B"), "lag_records") == 0; }, 10s, 50ms),
                "B on A: " << later.dump());
  CHECK(f64(later, "lag_seconds") == 0);
  CHECK_FALSE(stalled(later));
  CHECK(u64(later, "acked") == a.durable_seq());
}

TEST_CASE("tandem status --watch prints one frame per interval with B's rates, then exits 0") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_async_pair(a, b);
  background_publisher pub{a.ports().client};
  REQUIRE(wait_until([&] { return pub.persisted() > 0; }, 10s));

  auto started = std::chrono::steady_clock::now();
  auto r = run({tandem_cli_path(), "status", "--watch", "--interval-ms", "200", "--count", "3",
                "127.0.0.1:" + std::to_string(a.ports().admin)},
               ".", 10s);
  auto took = std::chrono::steady_clock::now() - started;
  CHECK_MESSAGE(r.exit_code == 0, r.out << r.err);
  // Not a terminal: frames are separated by a blank line, each headed by its title.
  std::regex title{"(^|\n)tandem status --watch 127\\.0\\.0\\.1:[0-9]+, every 200 ms, [0-9:]{8}\n"};
  auto frames = std::distance(std::sregex_iterator(r.out.begin(), r.out.end(), title), std::sregex_iterator());
  CHECK_MESSAGE(frames == 3, r.out);
  CHECK(r.out.find("\x1b[") == std::string::npos);
  CHECK(took >= 400ms); // two intervals between three frames
  // The later frames have rates: B's row shows numbers, not "-", for records sent per second.
  auto last = r.out.substr(r.out.rfind("tandem status --watch"));
  CHECK_MESSAGE(std::regex_search(last, std::regex{"\n  B +async +connected +[0-9]+\\.[0-9] "}), last);
  CHECK_MESSAGE(std::regex_search(last, std::regex{"\nappending   [0-9]+\\.[0-9] records/s\n"}), last);
}
