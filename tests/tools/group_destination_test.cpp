// A destination that is a group of servers (issue 17 part 2): A -> B {B1, B2}, B1 <-> B2 sync
// (passing A's records on), each replicating to A. Each server has its own name, so nothing is
// an identity conflict. Killing the serving instance under load: A resumes on the other from what
// that one durably holds, and every acked record ends up exactly once on A, B1 (after its restart)
// and B2.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <string>

#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem::test;
using namespace std::chrono_literals;

namespace {

std::string replication_address(const test_node& n) { return "127.0.0.1:" + std::to_string(n.ports().replication); }

template <class F>
void edit_config(const test_node& n, F edit) {
  auto c = nlohmann::json::parse(read_file(n.config_file()));
  edit(c);
  write_file(n.config_file(), c.dump(2));
}

// The servers of B: own names, group B, sync to A and to each other, passing A's records on.
void configure_server(test_node& me, const test_node& partner, const test_node& a) {
  me.configure({{destination_spec{"A", "sync", true, {}}, &a}, {destination_spec{partner.name(), "sync", true, {"A"}}, &partner}},
               {{"group", "B"}});
  edit_config(me, [](nlohmann::json& c) { c["destinations"][1]["group"] = "B"; });
}

std::uint64_t identity_refusals(const test_node& n) {
  auto s = n.status();
  return s.is_object() ? s["identity_conflicts"].value("refused_total", std::uint64_t{0}) : 0;
}

// A's view of one instance of its destination B (/status destinations[].instances[]).
nlohmann::json instance_view(const test_node& a, const std::string& instance) {
  auto d = a.destination("B");
  if (d.is_object())
    for (const auto& i : d["instances"])
      if (i["instance"] == instance)
        return i;
  return nlohmann::json{};
}

void check_exactly_once(const test_node& n, std::size_t expected) {
  CAPTURE(n.name());
  auto held = count_by_origin(n.journal_records());
  CHECK(held.size() == expected);
  CHECK(std::all_of(held.begin(), held.end(), [](const auto& kv) { return kv.first.first == "A" && kv.second == 1; }));
}

} // namespace

TEST_CASE("group destination: kill the serving instance under load, A resumes on the other from what it holds; "
          "every acked record on A, B1 and B2 exactly once; no identity conflict") {
  temp_dir da, d1, d2;
  test_node a{da, "A"}, b1{d1, "B1"}, b2{d2, "B2"};
  a.configure({{destination_spec{"B", "sync", true, {}}, &b1}});
  edit_config(a, [&](nlohmann::json& c) {
    c["destinations"][0]["instances"] = {"B1", "B2"};
    c["destinations"][0]["addresses"].push_back(replication_address(b2));
  });
  configure_server(b1, b2, a);
  configure_server(b2, b1, a);
  b1.start();
  b2.start();
  a.start();
  auto ready = [&] {
    auto d = a.destination("B");
    return d.value("connected", false) && instance_view(a, "B1").value("connected", false)
           && instance_view(a, "B2").value("connected", false) && b1.connected_to("B2") && b2.connected_to("B1");
  };
  REQUIRE_MESSAGE(wait_until(ready, 20s), a.log() << b1.log() << b2.log());
  auto before = a.destination("B");
  const std::string serving = before.value("serving_instance", std::string{});
  REQUIRE((serving == "B1" || serving == "B2"));
  test_node& gone = serving == "B1" ? b1 : b2;
  test_node& other = serving == "B1" ? b2 : b1;
  // The serving connection's address: where A dialed it, or where its inbound connection comes from.
  CHECK(before["serving_address"] == instance_view(a, serving)["address"]);
  CHECK(before.value("serving_address", std::string{}) != "");
  CHECK(instance_view(a, serving)["serving"] == true);
  CHECK(instance_view(a, other.name())["serving"] == false);

  constexpr int n = 20000;
  const auto first = a.first_seq();
  auto publisher = std::async(std::launch::async, [&] { return publish_n(a, "p1", n, {256, 100, true}); });
  // Under load: the serving instance has acknowledged some of it, the publisher is still going.
  REQUIRE_MESSAGE(wait_until([&] { return a.destination("B").value("acked", std::uint64_t{0}) >= first + 500; }, 30s),
                  a.log());
  const bool still_publishing = publisher.wait_for(0s) != std::future_status::ready;
  gone.kill();
  auto pub = publisher.get();
  CHECK(still_publishing);
  CHECK(pub.error.empty());
  CHECK(pub.persisted == n);

  // A fails over to the other instance at once (it was connected) and resumed from what it holds:
  // its position for A came from A's own connection only (A's records reached it through the
  // partner), so it holds less than the link had confirmed: peer_holds_less, the difference resent.
  REQUIRE_MESSAGE(wait_until([&] { return a.destination("B").value("serving_instance", std::string{}) == other.name(); }, 10s),
                  a.log());
  auto after = a.destination("B");
  CHECK(after["serving_address"] == instance_view(a, other.name())["address"]);
  CHECK(instance_view(a, other.name())["serving"] == true);
  CHECK(after.value("failovers", 0) >= 1);
  CHECK_MESSAGE(after["resumes"].value("peer_holds_less", 0) >= 1, after.dump() << a.log());
  CHECK(instance_view(a, gone.name())["connected"] == false);
  CHECK(a.log().find("failover: destination B: instance " + gone.name() + " no longer connected; " + other.name())
        != std::string::npos);
  // What an operator sees: `tandem status` names the serving instance and the instance that is gone.
  auto cli = run({tandem_cli_path(), "status", "--admin", "127.0.0.1:" + std::to_string(a.ports().admin)}, ".", 10s);
  CHECK(cli.exit_code == 0);
  CHECK_MESSAGE(cli.out.find("  B  served by " + other.name() + " (") != std::string::npos, cli.out);
  CHECK(cli.out.find(gone.name() + " not connected") != std::string::npos);

  // The killed server comes back: it takes the records it missed from its partner, without
  // taking over the destination (the other one serves on).
  gone.start();
  REQUIRE_MESSAGE(wait_until([&] { return gone.records_held() >= n && other.records_held() >= n; }, 60s),
                  gone.log() << other.log());
  REQUIRE(wait_until([&] { return instance_view(a, gone.name()).value("connected", false); }, 20s));
  CHECK(a.destination("B")["serving_instance"] == other.name());
  for (const auto* node : {&a, &b1, &b2})
    CHECK(identity_refusals(*node) == 0);
  CHECK(a.log().find("identity conflict") == std::string::npos);
  CHECK(a.stop() == 0);
  CHECK(b1.stop() == 0);
  CHECK(b2.stop() == 0);
  for (const auto* node : {&a, &b1, &b2})
    check_exactly_once(*node, n);
}

TEST_CASE("group destination: a dialed address may answer with any listed instance, never with another one") {
  temp_dir da, d2, dc;
  test_node a{da, "A"}, b2{d2, "B2"}, c{dc, "C"};
  // A dials C's address first, then B2's; neither dials A (accept-only destinations).
  a.configure({{destination_spec{"B", "async", true, {}}, &c}});
  edit_config(a, [&](nlohmann::json& cfg) {
    cfg["destinations"][0]["instances"] = {"B1", "B2"};
    cfg["destinations"][0]["addresses"].push_back(replication_address(b2));
  });
  b2.configure({{destination_spec{"A", "async", false, {}}, &a}});
  c.configure({{destination_spec{"A", "async", false, {}}, &a}});
  b2.start();
  c.start();
  a.start();
  REQUIRE_MESSAGE(wait_until([&] { return a.destination("B").value("serving_instance", std::string{}) == "B2"; }, 20s),
                  a.log());
  auto d = a.destination("B");
  CHECK(d["serving_address"] == replication_address(b2));
  CHECK(instance_view(a, "B2")["direction"] == "dialed");
  CHECK(instance_view(a, "B1")["connected"] == false);
  CHECK_MESSAGE(a.log().find("dialed destination B (instances B1, B2) but the peer is instance C") != std::string::npos,
                a.log());
  auto pub = publish_n(a, "p1", 50);
  CHECK(pub.persisted == 50);
  REQUIRE(wait_until([&] { return b2.records_held() >= 50; }, 20s));
  CHECK(c.records_held() == 0);
  CHECK(a.stop() == 0);
  CHECK(b2.stop() == 0);
  CHECK(c.stop() == 0);
}

// Regression: the standby instance's connection (kept, not serving) was identified to the
// replication listener as "not a configured destination" (the slot flag came from whether the
// connection got the link), so a stranger dialing a node whose slots were full evicted it.
TEST_CASE("group destination: a standby instance's replication slot is never evicted by a stranger") {
  temp_dir da, d1, d2, dx;
  test_node a{da, "A"}, b1{d1, "B1"}, b2{d2, "B2"}, x{dx, "X"};
  a.configure({{destination_spec{"B", "async", false, {}}, &b1}}, {{"limits", {{"max_replication_connections", 2}}}});
  edit_config(a, [](nlohmann::json& c) { c["destinations"][0]["instances"] = {"B1", "B2"}; });
  for (auto* n : {&b1, &b2, &x})
    n->configure({{destination_spec{"A", "async", true, {}}, &a}});
  a.start();
  b1.start();
  b2.start();
  auto both = [&] {
    return instance_view(a, "B1").value("connected", false) && instance_view(a, "B2").value("connected", false);
  };
  REQUIRE_MESSAGE(wait_until(both, 20s), a.log());
  x.start();
  auto admission = [&](const char* key) {
    auto s = a.status();
    return s.is_object() ? s["client_listener"]["replication_admission"].value(key, std::uint64_t{0}) : 0;
  };
  REQUIRE_MESSAGE(wait_until([&] { return admission("refused") >= 2; }, 20s), a.log());
  CHECK(admission("evicted") == 0);
  CHECK(both());
  CHECK(a.destination("B").value("failovers", 1) == 0);
  CHECK(a.stop() == 0);
  for (auto* n : {&b1, &b2, &x})
    CHECK(n->stop() == 0);
}
