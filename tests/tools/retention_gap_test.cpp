// Issue 14, defect 13: replicated history deleted as soon as it was replicated, and a subscriber
// that asked for it not told. Real sync pairs: with retention 0 (removal as soon as replication
// allows) a subscription whose start lies below what the journal holds gets subscription_gap
// notices (the CLI prints them and exits 3 unless --accept-gaps, the HA subscriber reports them,
// /metrics counts them); with the default retention (7 days) the history stays.
#include <optional>
#include <sstream>
#include <utility>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "client/bookmark.hpp"
#include "client/ha_subscriber.hpp"
#include "tests/tools/cluster_fixture.hpp"

using namespace tandem::test;
using namespace tandem;

namespace {

// `tandem publish` of `count` messages of `size` bytes to `n`; every one persisted.
void publish_cli(const test_node& n, int count, int size) {
  auto r = run({tandem_cli_path(), "publish", "--client", "127.0.0.1:" + std::to_string(n.ports().client), "--count",
                std::to_string(count), "--size", std::to_string(size), "--window", "256", "--timeout-ms", "30000"},
               ".", 120s);
  REQUIRE_MESSAGE(r.exit_code == 0, r.out << r.err);
}

// The journal seqs of the lines `tandem subscribe` printed ("seq=N ...").
std::vector<std::uint64_t> seqs_in(const std::string& out) {
  std::vector<std::uint64_t> seqs;
  std::istringstream in{out};
  for (std::string line; std::getline(in, line);)
    if (line.rfind("seq=", 0) == 0)
      seqs.push_back(std::stoull(line.substr(4)));
  return seqs;
}

// The value of the unlabelled metric `name` in a /metrics text, or -1.
double metric(const std::string& text, const std::string& name) {
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0)
      return std::stod(line.substr(name.size() + 1));
  return -1;
}

// The journal range of the first "tandem: gap: records with journal seq A..B" line, if any.
std::optional<std::pair<std::uint64_t, std::uint64_t>> gap_range_in(const std::string& err) {
  const std::string tag = "tandem: gap: records with journal seq ";
  const auto at = err.find(tag);
  if (at == std::string::npos)
    return std::nullopt;
  std::istringstream in{err.substr(at + tag.size())};
  std::uint64_t first = 0, last = 0;
  char dot1 = 0, dot2 = 0;
  if (!(in >> first >> dot1 >> dot2 >> last) || dot1 != '.' || dot2 != '.')
    return std::nullopt;
  return std::pair{first, last};
}

std::vector<std::string> subscribe_from_1(const test_node& n) {
  return {tandem_cli_path(), "subscribe", "--client", "127.0.0.1:" + std::to_string(n.ports().client), "--from", "1",
          "--timeout-ms", "1500"};
}

} // namespace

TEST_CASE("replicated history deleted as soon as replicated: subscribe --from 1 is told of the gap, exits 3, "
          "--accept-gaps exits 0, the HA subscriber reports it, /metrics counts it") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  // Retention 0 and small segments: what B got from A is removed once A covers it.
  const nlohmann::json trim = {{"journal", {{"segment_bytes", 65536}, {"retention_min_age_s", 0}}}};
  start_pair(a, b, "sync", trim, trim);
  constexpr int n = 2000;
  publish_cli(a, n, 1000);
  const std::uint64_t b_base = b.base_seq();
  REQUIRE(b_base > 0); // read from /status
  REQUIRE_MESSAGE(wait_until([&] { return b.durable_seq() + 1 - b_base == n && b.first_seq() > b_base + n / 2; }, 20s),
                  "B: base " << b_base << " first " << b.first_seq() << " durable " << b.durable_seq() << "\n"
                             << b.log());

  // Retention may have removed every sealed segment and left an empty active one: B then holds
  // nothing, and the whole range is a gap. Judge by what the CLI printed.
  auto told = run(subscribe_from_1(b), ".", 30s);
  CHECK_MESSAGE(told.exit_code == 3, told.err);
  const auto seqs = seqs_in(told.out);
  const auto range = gap_range_in(told.err);
  REQUIRE_MESSAGE(range, "no gap line: " << told.err);
  CHECK(range->first == b_base);
  CHECK(range->second >= b_base + n / 2);
  // Exactly the range retention removed: up to just below the first record printed (or all).
  CHECK(range->second + 1 == (seqs.empty() ? b_base + n : seqs.front()));
  if (!seqs.empty()) {
    CHECK(seqs.back() == b_base + n - 1);
    CHECK(seqs.size() == seqs.back() - seqs.front() + 1);
  }
  CHECK(told.err.find("are no longer held by the node (removed by retention") != std::string::npos);

  auto accepted_argv = subscribe_from_1(b);
  accepted_argv.push_back("--accept-gaps");
  auto accepted = run(accepted_argv, ".", 30s);
  CHECK_MESSAGE(accepted.exit_code == 0, accepted.err);
  const auto accepted_range = gap_range_in(accepted.err);
  REQUIRE_MESSAGE(accepted_range, accepted.err);
  CHECK(accepted_range->first == b_base);

  // A failover subscriber resuming with a bookmark below what B holds of origin A: told per origin.
  const std::uint64_t a_base = a.base_seq(); // A's records have origin_seq = A's journal seq
  REQUIRE(a_base > 0);
  client::bookmark mark;
  mark.advance("A", a_base + 5);
  const std::string bookmark_file = dir / "sub.bookmark";
  REQUIRE(client::save_bookmark(bookmark_file, mark).empty());
  client::ha_subscriber_options o;
  o.servers = {{"127.0.0.1", b.ports().client}};
  o.bookmark_file = bookmark_file;
  std::vector<protocol::subscription_gap> gaps;
  o.on_gap = [&](const protocol::subscription_gap& g) { gaps.push_back(g); };
  client::ha_subscriber sub{o};
  REQUIRE(sub.open().empty());
  auto first = sub.next(3s); // none when B holds nothing; the notice comes either way
  REQUIRE_MESSAGE(gaps.size() == 1, sub.error()); // the notice precedes the first delivery
  CHECK(gaps[0].origin_instance == "A");
  CHECK(gaps[0].first == a_base + 6);
  CHECK(gaps[0].last >= a_base + n / 2);
  CHECK(gaps[0].last <= a_base + n - 1);
  if (first)
    CHECK(gaps[0].last == first->origin_seq - 1); // A's records reach B in A's order
  CHECK(gaps[0].reason == protocol::gap_reason::retention);
  CHECK(sub.counters().gaps == 1);
  CHECK(sub.counters().gap_records == gaps[0].last - gaps[0].first + 1);
  sub.stop();

  // Counted: three subscriptions, one range each (polled: a fetch may time out on a loaded machine).
  std::string text;
  CHECK_MESSAGE(wait_until(
                  [&] {
                    text = admin_get(b.ports().admin, "/metrics").body;
                    return metric(text, "tandem_subscription_gaps_total") == 3;
                  },
                  10s),
                text);
  const double journal_range = static_cast<double>(range->second - range->first + 1);
  CHECK(metric(text, "tandem_subscription_gap_records_total") >= 2 * journal_range + 1);
  CHECK(wait_until([&] { return b.status()["client_listener"].value("subscription_gaps", 0) == 3; }, 10s));
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

TEST_CASE("the default retention keeps replicated history: 5000 messages with 1 MiB segments, subscribe --from 1 "
          "gets all 5000 and no gap") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"};
  const nlohmann::json small = {{"journal", {{"segment_bytes", 1 << 20}}}}; // retention left at its default
  start_pair(a, b, "sync", small, small);
  constexpr int n = 5000;
  publish_cli(a, n, 1000);
  const std::uint64_t b_base = b.base_seq();
  REQUIRE(b_base > 0); // read from /status
  const std::uint64_t a_base = a.base_seq();
  REQUIRE(a_base > 0);
  REQUIRE(wait_until([&] { return b.durable_seq() + 1 - b_base == n; }, 20s));
  // Sealed segments that A has covered (polled: a status fetch may time out on a loaded machine).
  REQUIRE(wait_until([&] { return b.status()["journal"].value("segments", 0) >= 4; }, 10s));
  // Retention sweeps every second; with the old default (0) it removed them within one sweep.
  // (first_seq() is 0 when a status fetch fails: never taken for a removal.)
  CHECK_FALSE(wait_until([&] { return b.first_seq() > b_base || a.first_seq() > a_base; }, 3s));
  CHECK(b.status()["journal"].value("removed_segments", 0) == 0);

  auto r = run(subscribe_from_1(b), ".", 60s);
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.err.find("gap") == std::string::npos);
  auto seqs = seqs_in(r.out);
  CHECK(seqs.size() == static_cast<std::size_t>(n));
  REQUIRE_FALSE(seqs.empty());
  CHECK(seqs.front() == b_base);
  CHECK(seqs.back() == b_base + n - 1);
  std::string text;
  CHECK_MESSAGE(wait_until(
                  [&] {
                    text = admin_get(b.ports().admin, "/metrics").body;
                    return metric(text, "tandem_subscription_gaps_total") == 0; // -1 when the fetch failed
                  },
                  10s),
                text);
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}
