// A node whose journal directory is lost (killed, data dir deleted, restarted empty) is refilled
// by its partner, its own earlier records included, and nothing acknowledged is lost on either
// side: the new incarnation numbers above the old one (journal base from the clock), the
// partner sends back the node's own records below that base, and new publishes are stored.
#include <filesystem>

#include <doctest/doctest.h>

#include "client/client_connection.hpp"
#include "client/publisher.hpp"
#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem::test;
using tandem::client::client_connection;
using tandem::client::publisher;
using tandem::client::publisher_options;

namespace {

// Empty when all n were persisted, else what went wrong.
std::string publish_all(const test_node& node, const std::string& publisher_id, int n) {
  auto r = publish_n(node, publisher_id, n, {.window = 128, .numbered = true});
  if (!r.error.empty())
    return r.error;
  if (r.persisted != static_cast<std::uint64_t>(n))
    return "persisted " + std::to_string(r.persisted) + " of " + std::to_string(n);
  return {};
}

std::map<std::string, int> per_origin(const std::vector<tandem::journal::record>& rs) {
  std::map<std::string, int> out;
  for (const auto& r : rs)
    ++out[r.origin];
  return out;
}

// True when `node`'s link to `dest` has nothing left to send: it is connected, reports no lag,
// and `dest` acked the node's durable end (all from one /status).
bool links_idle(const test_node& node, const std::string& dest) {
  auto s = node.status();
  if (!s.is_object() || !s.contains("journal") || !s.contains("destinations"))
    return false;
  const auto durable = s["journal"].value("durable_seq", std::uint64_t{0});
  for (const auto& d : s["destinations"])
    if (d.value("name", "") == dest)
      return d.value("connected", false) && d.value("lag_records", std::uint64_t{1}) == 0 && d["acked"].is_number()
             && d["acked"].get<std::uint64_t>() == durable;
  return false;
}

} // namespace

TEST_CASE("journal loss: a node restarted with an empty data dir gets every record back, its own included") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  start_pair(a, b, "sync");
  const auto a_first = a.first_seq();
  CHECK(a_first > 1); // a wall-clock base, not 1
  REQUIRE(publish_all(a, "pa", 300).empty());
  REQUIRE(publish_all(b, "pb", 200).empty());
  // Sync: every persisted ack means both journals hold the record.
  CHECK(a.records_held() == 500);
  CHECK(b.records_held() == 500);

  a.kill();
  std::filesystem::remove_all(a.data_dir());
  a.start();
  CHECK(a.first_seq() > a_first); // a new incarnation numbers above the old one
  REQUIRE_MESSAGE(wait_until([&] { return a.connected_to("B") && b.connected_to("A"); }, 10s), a.log());
  // Refilled: B's 200 and A's own 300 from before the loss.
  CHECK_MESSAGE(wait_until([&] { return a.records_held() == 500; }, 20s), "A holds " << a.records_held() << "\n" << a.log());

  // New publishes to A are stored on B (not taken for the old A records of the same numbers).
  REQUIRE(publish_all(a, "pa2", 150).empty());
  REQUIRE(publish_all(b, "pb2", 50).empty());
  CHECK(wait_until([&] { return a.records_held() == 700 && b.records_held() == 700; }, 20s));
  // Anything wrongly echoed back would be stored, and then still be in flight or unacked: wait
  // (bounded) until both links are idle -- each destination acked everything its node holds --
  // instead of sleeping a fixed 300 ms (too short under sanitizer slowness, wasted otherwise).
  CHECK_MESSAGE(wait_until([&] { return links_idle(a, "B") && links_idle(b, "A"); }, 20s),
                "A: " << a.status().dump() << "\nB: " << b.status().dump());
  CHECK(a.records_held() == 700);
  CHECK(b.records_held() == 700);

  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
  auto ra = a.journal_records(), rb = b.journal_records();
  CHECK(ra.size() == 700);
  CHECK(rb.size() == 700);
  auto ca = count_by_origin(ra), cb = count_by_origin(rb);
  for (const auto& [key, n] : ca)
    CHECK_MESSAGE(n == 1, key.first << "/" << key.second << " held " << n << " times on A");
  for (const auto& [key, n] : cb)
    CHECK_MESSAGE(n == 1, key.first << "/" << key.second << " held " << n << " times on B");
  CHECK(ca == cb); // the same (origin, origin_seq) set on both
  auto pa = per_origin(ra), pb = per_origin(rb);
  CHECK(pa == pb);
  CHECK(pa["A"] == 450);
  CHECK(pa["B"] == 250);
  // A's refilled records keep origin A and their old origin_seq (below A's new base).
  const auto new_base = ra.front().seq;
  int old_own = 0;
  for (const auto& r : ra)
    if (r.origin == "A" && r.origin_seq < new_base)
      ++old_own;
  CHECK(old_own == 300);
}
