// Replication validation on connect (issue 17 part 3) between two real tandemd: each check in
// strict mode (the connection is refused; both logs name the check and both values; /status and
// /metrics show it) and in warn mode (replication goes on; /status shows the problem); the skip
// list honoured; a good pair shows validation ok.
#include <doctest/doctest.h>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <initializer_list>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "protocol/codec.hpp"
#include "protocol/frame_reader.hpp"

#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

// A destination for `peer`, dialing it, with `more` merged in (validation, topics, group ...).
json destination_for(const test_node& peer, const std::string& sync_type, json more = json::object()) {
  json d = {{"name", peer.name()},
            {"sync_type", sync_type},
            {"addresses", {"127.0.0.1:" + std::to_string(peer.ports().replication)}},
            {"reconnect", {{"initial_ms", 50}, {"max_ms", 500}, {"connect_timeout_ms", 1000}}}};
  d.update(more, true);
  return d;
}

void configure(test_node& n, json destinations) { n.configure({}, {{"destinations", std::move(destinations)}}); }

// Whether one line of `log` holds every part, in order.
bool has_line(const std::string& log, std::initializer_list<std::string> parts) {
  std::istringstream in{log};
  for (std::string line; std::getline(in, line);) {
    std::size_t at = 0;
    bool all = true;
    for (const auto& p : parts) {
      at = line.find(p, at);
      if (at == std::string::npos) {
        all = false;
        break;
      }
      at += p.size();
    }
    if (all)
      return true;
  }
  return false;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size()))
    ++n;
  return n;
}

json validation_of(const test_node& n, const std::string& dest) {
  auto d = n.destination(dest);
  return d.is_object() ? d["validation"] : json{};
}

bool result_is(const test_node& n, const std::string& dest, const std::string& result) {
  auto v = validation_of(n, dest);
  return v.is_object() && v.value("result", "") == result;
}

std::string metrics_of(const test_node& n) { return admin_get(n.ports().admin, "/metrics").body; }

std::string problem_metric(const std::string& dest, const std::string& check, int value) {
  return "tandem_destination_validation_problems{destination=\"" + dest + "\",check=\"" + check + "\"} " +
         std::to_string(value);
}

struct pair_nodes {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  std::string logs() const { return "A log:\n" + a.log() + "\nB log:\n" + b.log(); }
  void start() {
    b.start();
    a.start();
  }
};

// A strict refusal by A for one check: A's log line, B's log naming the same check and values
// (`b_described`: B's own words when B refuses too, its instance first), A's status and metric,
// and no replication.
void check_strict_refusal(pair_nodes& p, const std::string& check, const std::string& described,
                          const std::string& b_described = {}) {
  const std::string failed = "replication validation failed: ";
  REQUIRE_MESSAGE(wait_until([&] { return result_is(p.a, "B", "refused"); }, 20s), p.logs());
  CHECK_MESSAGE(wait_until([&] { return has_line(p.a.log(), {"refusing B (", failed, described, "(destination B, validation strict;"}); }, 10s),
                p.logs());
  const auto& on_b = b_described.empty() ? described : b_described;
  CHECK_MESSAGE(wait_until([&] { return has_line(p.b.log(), {"A (", failed, on_b}); }, 10s), p.logs());
  auto v = validation_of(p.a, "B");
  CHECK(v["ok"] == false);
  CHECK(v["instance"] == "B");
  bool listed = false;
  for (const auto& problem : v["problems"])
    listed = listed || problem["check"] == check;
  CHECK_MESSAGE(listed, v.dump());
  CHECK_MESSAGE(metrics_of(p.a).find(problem_metric("B", check, 1)) != std::string::npos, metrics_of(p.a));
  CHECK_FALSE(p.a.connected_to("B"));
}

} // namespace

TEST_CASE("validation: a good sync pair validates ok on both sides and replicates") {
  pair_nodes p;
  configure(p.a, json::array({destination_for(p.b, "sync", {{"validation", "strict"}})}));
  configure(p.b, json::array({destination_for(p.a, "sync", {{"validation", "strict"}})}));
  p.start();
  REQUIRE_MESSAGE(wait_until([&] { return p.a.connected_to("B") && result_is(p.a, "B", "ok") && result_is(p.b, "A", "ok"); }, 20s),
                  p.logs());
  auto v = validation_of(p.a, "B");
  CHECK(v["ok"] == true);
  CHECK(v["problems"].empty());
  CHECK(v["refused_by_peer"] == "");
  CHECK(metrics_of(p.a).find(problem_metric("B", "back_replication", 0)) != std::string::npos);
  CHECK(publish_n(p.a, "good", 20).persisted == 20);
  CHECK(p.a.log().find("replication validation failed") == std::string::npos);
  CHECK(p.b.log().find("replication validation failed") == std::string::npos);
}

TEST_CASE("validation strict: back_replication, the peer has no destination back") {
  pair_nodes p;
  configure(p.a, json::array({destination_for(p.b, "sync", {{"validation", "strict"}})}));
  configure(p.b, json::array());
  p.start();
  check_strict_refusal(p, "back_replication", "back_replication (A: sync, B: none)");
}

// Regression (review, 2026-12-04): each refused attempt logged an error line, so a broken
// contract wrote one line per backoff period (every 2 s by default) for as long as it lasted.
TEST_CASE("validation strict: the refused peer redials at its backoff rate, the refusal is logged once a minute") {
  pair_nodes p;
  configure(p.a, json::array({destination_for(p.b, "sync", {{"validation", "strict"}})}));
  configure(p.b, json::array());
  p.start();
  std::set<std::uint64_t> refusals; // each refused attempt records its time in /status
  REQUIRE_MESSAGE(wait_until(
                    [&] {
                      auto v = validation_of(p.a, "B");
                      if (v.is_object() && v.value("result", "") == "refused")
                        refusals.insert(v.value("unix_ms", std::uint64_t{0}));
                      return refusals.size() >= 4;
                    },
                    20s, 10ms),
                  p.logs());
  std::size_t lines = 0;
  std::istringstream in{p.a.log()};
  for (std::string line; std::getline(in, line);)
    lines += line.find("refusing B (") != std::string::npos;
  MESSAGE(refusals.size() << " refusals seen in /status, " << lines << " refusal line(s) in A's log");
  CHECK(lines == 1);
  CHECK(has_line(p.a.log(), {"refusing B (", "(destination B, validation strict; 0 refusal(s) since the last line, said at most once a minute)"}));
}

TEST_CASE("validation strict: back_replication, the peer replicates back only async; its status says it was refused") {
  pair_nodes p;
  configure(p.a, json::array({destination_for(p.b, "sync", {{"validation", "strict"}})}));
  configure(p.b, json::array({destination_for(p.a, "async", {{"validation", "strict"}})}));
  p.start();
  check_strict_refusal(p, "back_replication", "back_replication (A: sync, B: async)");
  // B's own checks find nothing (async to A is A's check); B shows that A refused it.
  REQUIRE_MESSAGE(wait_until([&] { return result_is(p.b, "A", "refused_by_peer"); }, 10s), p.logs());
  auto v = validation_of(p.b, "A");
  CHECK(v["ok"] == false);
  CHECK(v["problems"].empty());
  CHECK(v["refused_by_peer"] == "replication validation failed: back_replication (A: sync, B: async)");
}

TEST_CASE("validation strict: topics, the partners' filters differ (both sides refuse)") {
  pair_nodes p;
  configure(p.a, json::array({destination_for(p.b, "sync", {{"validation", "strict"}, {"topics", "orders\\..*"}})}));
  configure(p.b, json::array({destination_for(p.a, "sync", {{"validation", "strict"}})}));
  p.start();
  check_strict_refusal(p, "topics", "topics (A: \"orders\\..*\", B: \".*\")", "topics (B: \".*\", A: \"orders\\..*\")");
  CHECK(wait_until([&] { return has_line(p.b.log(), {"refusing A (", "(destination A, validation strict;"}); }, 10s));
  CHECK(wait_until([&] { return result_is(p.b, "A", "refused"); }, 10s));
}

TEST_CASE("validation strict: group, the peer's group is not the one the destination names") {
  pair_nodes p;
  configure(p.a, json::array({destination_for(p.b, "sync", {{"validation", "strict"}, {"group", "X"}})}));
  configure(p.b, json::array({destination_for(p.a, "sync", {{"validation", "strict"}})}));
  p.start();
  check_strict_refusal(p, "group", "group (A: X, B: B)");
}

TEST_CASE("validation strict: passthrough, A forwards a group B does not pass back") {
  pair_nodes p;
  configure(p.a, json::array({destination_for(p.b, "sync", {{"validation", "strict"}, {"passthrough", {"C"}}})}));
  configure(p.b, json::array({destination_for(p.a, "sync", {{"validation", "strict"}})}));
  p.start();
  check_strict_refusal(p, "passthrough", "passthrough (A: [\"C\"], B: [])");
}

TEST_CASE("validation warn: the problem is logged once per connection, status shows it, replication goes on") {
  pair_nodes p;
  configure(p.a, json::array({destination_for(p.b, "sync", {{"validation", "warn"}})}));
  configure(p.b, json::array());
  p.start();
  REQUIRE_MESSAGE(wait_until([&] { return p.a.connected_to("B") && result_is(p.a, "B", "warned"); }, 20s), p.logs());
  CHECK(publish_n(p.a, "warned", 20).persisted == 20);
  const std::string warned = "replication validation failed: back_replication (A: sync, B: none) (destination B, "
                             "validation warn: replicating anyway)";
  CHECK_MESSAGE(has_line(p.a.log(), {"connection with B (", warned}), p.logs());
  CHECK(count_of(p.a.log(), "validation warn: replicating anyway") == 1); // one connection, one line
  auto v = validation_of(p.a, "B");
  CHECK(v["ok"] == false);
  REQUIRE(v["problems"].size() == 1);
  CHECK(v["problems"][0] == json{{"check", "back_replication"}, {"mine", "sync"}, {"theirs", "none"}});
  CHECK(metrics_of(p.a).find(problem_metric("B", "back_replication", 1)) != std::string::npos);
}

TEST_CASE("validation: skip_validation leaves the check out; strict then replicates") {
  pair_nodes p;
  configure(p.a, json::array({destination_for(
                   p.b, "sync", {{"validation", "strict"}, {"skip_validation", {"back_replication"}}})}));
  configure(p.b, json::array());
  p.start();
  REQUIRE_MESSAGE(wait_until([&] { return p.a.connected_to("B") && result_is(p.a, "B", "ok"); }, 20s), p.logs());
  CHECK(validation_of(p.a, "B")["problems"].empty());
  CHECK(publish_n(p.a, "skipped", 10).persisted == 10);
  CHECK(p.a.log().find("replication validation failed") == std::string::npos);
}

namespace {

// The frame types a node sends on a replication connection until `last` arrives, the connection
// closes or the deadline passes.
std::vector<tandem::protocol::frame_type> frames_until(int fd, tandem::protocol::frame_type last,
                                                       std::chrono::milliseconds timeout) {
  std::vector<tandem::protocol::frame_type> seen;
  tandem::protocol::frame_reader reader{1u << 20};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    while (auto frame = reader.next()) {
      auto m = tandem::protocol::decode(*frame);
      if (!m)
        return seen;
      seen.push_back(tandem::protocol::type_of(m.value()));
      if (seen.back() == last)
        return seen;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) != 1)
      continue;
    char buf[4096];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0 || !reader.feed({buf, static_cast<std::size_t>(n)}))
      return seen;
  }
  return seen;
}

} // namespace

TEST_CASE("validation: a peer speaking protocol 1.3 is sent no validation and kept; status says not performed") {
  pair_nodes p;
  auto accept_only = destination_for(p.b, "sync", {{"validation", "strict"}});
  accept_only["addresses"] = json::array();
  configure(p.a, json::array({accept_only}));
  p.a.start();
  const int fd = connect_loopback(p.a.ports().replication);
  REQUIRE(fd >= 0);
  tandem::protocol::hello h;
  h.protocol_minor = 3;
  h.instance = "B";
  h.group = "B";
  std::string out;
  REQUIRE(tandem::protocol::encode(h, out));
  REQUIRE(::send(fd, out.data(), out.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(out.size()));
  // Kept (its durable_ack, our resume point, comes after the hello), with no validation between.
  const auto seen = frames_until(fd, tandem::protocol::frame_type::durable_ack, 10s);
  using F = tandem::protocol::frame_type;
  CHECK_MESSAGE((seen == std::vector<F>{F::hello, F::durable_ack}), p.a.log());
  CHECK(wait_until([&] { return result_is(p.a, "B", "not_performed"); }, 10s));
  CHECK(validation_of(p.a, "B")["ok"] == true);
  ::close(fd);
}
