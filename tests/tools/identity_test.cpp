// Instance identity (issue 17 part 1): every data dir has an instance id, sent in the hello
// (protocol 1.3). Two live nodes with one name and different data dirs: a peer keeps the first
// and refuses the second with close{identity_conflict}, at the refused node's backoff rate, said
// in each log at most once a minute, counted in /status and /metrics.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>

#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem::test;
using namespace std::chrono_literals;

namespace {

std::string instance_id(const test_node& n) {
  auto s = n.status();
  return s.is_object() ? s.value("instance_id", std::string{}) : std::string{};
}

std::uint64_t conflicts_field(const test_node& n, const char* key) {
  auto s = n.status();
  if (!s.is_object() || !s.contains("identity_conflicts"))
    return 0;
  return s["identity_conflicts"].value(key, std::uint64_t{0});
}

std::size_t count_lines(const std::string& log, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1))
    ++n;
  return n;
}

std::string replication_address(const test_node& n) { return "127.0.0.1:" + std::to_string(n.ports().replication); }

// Rewrites a node's config file through `edit` (after configure()).
template <class F>
void edit_config(const test_node& n, F edit) {
  auto c = nlohmann::json::parse(read_file(n.config_file()));
  edit(c);
  write_file(n.config_file(), c.dump(2));
}

} // namespace

TEST_CASE("instance id: kept across restarts, a new one with a new data dir, shown in /status") {
  temp_dir dir;
  test_node x{dir, "X"};
  x.configure({});
  x.start();
  const auto first = instance_id(x);
  CHECK(first.size() == 32);
  CHECK(first.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(read_file(x.data_dir() + "/instance_id").rfind(first + " ", 0) == 0);
  CHECK(x.log().find("instance id " + first + " (no instance_id file: new instance id)") != std::string::npos);
  CHECK(x.stop() == 0);
  x.start();
  CHECK(instance_id(x) == first);
  CHECK(x.stop() == 0);
  std::filesystem::remove_all(x.data_dir()); // the disk is lost: a new incarnation, a new id
  x.start();
  const auto second = instance_id(x);
  CHECK(second.size() == 32);
  CHECK(second != first);
  CHECK(x.stop() == 0);
  // A careless operator's damaged file: the node refuses to start and says which file.
  write_file(x.data_dir() + "/instance_id", "not an id\n");
  child_process p{{tandemd_path(), "--config", x.config_file()}, dir.path(), dir.path()};
  auto code = p.wait_exit(10s);
  REQUIRE(code);
  CHECK(*code == 1);
  CHECK(p.stderr_text().find(x.data_dir() + "/instance_id: not '<32 lowercase hex digits> <journal base>") !=
        std::string::npos);
}

TEST_CASE("identity conflict: two live nodes named B against A: one replicates, the other is refused at its backoff "
          "rate for 20 s, said once in each log") {
  temp_dir da, d1, d2;
  test_node a{da, "A"}, b1{d1, "B"}, b2{d2, "B"};
  a.configure({{destination_spec{"B", "async", true, {}}, &b1}});
  edit_config(a, [&](nlohmann::json& c) { c["destinations"][0]["addresses"].push_back(replication_address(b2)); });
  b1.configure({{destination_spec{"A", "async", true, {}}, &a}});
  b2.configure({{destination_spec{"A", "async", true, {}}, &a}});
  // The refused node's schedule: 100 ms growing by 1.5 to 2 s (a refusal right after the hello
  // is a failed attempt: address_cycler.hpp, stable_after).
  edit_config(b2, [](nlohmann::json& c) {
    c["destinations"][0]["reconnect"] = {{"initial_ms", 100}, {"max_ms", 2000}, {"multiplier", 1.5}, {"jitter", 0.1}};
  });
  b1.start();
  a.start();
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b1.connected_to("A"); }, 10s), a.log());
  b2.start();
  REQUIRE_MESSAGE(wait_until([&] { return conflicts_field(a, "refused_total") >= 1; }, 10s), a.log() << b2.log());

  const auto t0 = std::chrono::steady_clock::now();
  const auto refused0 = conflicts_field(a, "refused_total");
  auto pub = publish_n(a, "p1", 300);
  CHECK(pub.error.empty());
  CHECK(pub.persisted == 300);
  // A and B1 dialed each other: the one connection kept is A's dial to B1 or B1's dial to A (then
  // peer_address is B1's source port). Either way it is B1's and stays the same one throughout.
  std::string kept;
  while (std::chrono::steady_clock::now() - t0 < 20s) {
    auto d = a.destination("B");
    REQUIRE_MESSAGE(d.value("connected", false), "A lost B1 during the conflict:\n" << a.log());
    const auto peer = d.value("peer_address", std::string{});
    if (d.value("direction", std::string{}) == "dialed")
      CHECK(peer == replication_address(b1));
    else
      CHECK(d.value("direction", std::string{}) == "accepted");
    if (kept.empty())
      kept = peer;
    CHECK(peer == kept);
    CHECK(d.value("instance_switches", -1) == 0);
    std::this_thread::sleep_for(200ms);
  }
  const auto refused = conflicts_field(a, "refused_total") - refused0;
  MESSAGE("refusals of the second B in 20 s: " << refused);
  // 100 ms * 1.5^k capped at 2 s: about 17 attempts in 20 s; a dial loop would make thousands.
  CHECK(refused >= 5);
  CHECK(refused <= 30);
  CHECK(conflicts_field(b2, "refused_by_peers_total") >= refused);
  CHECK(conflicts_field(b1, "refused_by_peers_total") == 0);

  auto s = a.status();
  const auto& e = s["identity_conflicts"]["by_name"]["B"];
  CHECK(e["kept_instance_id"] == instance_id(b1));
  CHECK(e["refused_instance_id"] == instance_id(b2));
  CHECK(e["kept_address"] == replication_address(b1));
  CHECK(e["refused"].get<std::uint64_t>() >= refused);
  auto metrics = admin_get(a.ports().admin, "/metrics");
  CHECK(metrics.body.find("tandem_replication_identity_conflicts_total ") != std::string::npos);

  // Once a minute at most: one line on each side in these 20 s.
  CHECK(count_lines(a.log(), "identity conflict: instance B is already connected from " + replication_address(b1)) == 1);
  CHECK(count_lines(b2.log(), "refused this node: identity conflict") == 1);

  // Every record A acked is on B1 exactly once; none reached the refused B2.
  REQUIRE_MESSAGE(wait_until([&] { return b1.records_held() >= 300; }, 20s), b1.log());
  CHECK(b2.records_held() == 0);
  CHECK(a.stop() == 0);
  CHECK(b1.stop() == 0);
  CHECK(b2.stop() == 0);
  auto held = count_by_origin(b1.journal_records());
  CHECK(held.size() == 300);
  CHECK(std::all_of(held.begin(), held.end(), [](const auto& kv) { return kv.first.first == "A" && kv.second == 1; }));
}
