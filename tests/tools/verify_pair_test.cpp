// Anti-entropy on demand (issue 17, part 7): `tandem verify-pair` against real tandemd nodes.
// A sync pair holds the same records: exit 0. A third node whose journal was written offline
// (with the journal API, while stopped) from the pair's records minus one range: exit 1, and the
// range printed. GET /digest refuses bad parameters with 400.
#include <filesystem>

#include <doctest/doctest.h>

#include "tests/tools/cluster_fixture.hpp"
#include "tests/tools/offline_journal.hpp"
#include "tests/tools/publish_fixture.hpp"

using namespace tandem::test;

namespace {

std::string admin_of(const test_node& n) { return "127.0.0.1:" + std::to_string(n.ports().admin); }

run_result verify(const test_node& x, const test_node& y) {
  return run({tandem_cli_path(), "verify-pair", admin_of(x), admin_of(y)}, ".", 60s);
}


bool holds(const test_node& n, std::uint64_t records) { return n.records_held() == records; }

} // namespace

TEST_CASE("verify-pair: an identical sync pair exits 0; a node missing a range exits 1 naming it") {
  temp_dir dir;
  test_node a{dir, "A"}, b{dir, "B"}, c{dir, "C"};
  start_pair(a, b, "sync");
  REQUIRE(publish_n(a, "pa", 300, {.window = 128, .numbered = true}).persisted == 300);
  REQUIRE(publish_n(b, "pb", 50, {.window = 64, .numbered = true}).persisted == 50);
  REQUIRE(wait_until([&] { return holds(a, 350) && holds(b, 350); }, 20s));

  auto same = verify(a, b);
  CHECK_MESSAGE(same.exit_code == 0, same.out << same.err);
  CHECK(same.out.find("origin A: identical over origin_seq") != std::string::npos);
  CHECK(same.out.find("origin B: identical over origin_seq") != std::string::npos);

  // C: B's records offline, without origin A's origin_seq 120..139 (seqs of A start at its base).
  b.stop();
  auto records = b.journal_records();
  b.start();
  const auto a_base = a.base_seq();
  std::erase_if(records, [&](const auto& r) {
    return r.origin == "A" && r.origin_seq >= a_base + 119 && r.origin_seq <= a_base + 138;
  });
  REQUIRE(records.size() == 330);
  write_journal(c, records);
  c.configure({});
  c.start();

  auto diverged = verify(b, c);
  CHECK_MESSAGE(diverged.exit_code == 1, diverged.out << diverged.err);
  const auto first = std::to_string(a_base + 119), last = std::to_string(a_base + 138);
  CHECK_MESSAGE(diverged.out.find("origin A: DIVERGENT") != std::string::npos, diverged.out);
  CHECK_MESSAGE(diverged.out.find("at least 20 record(s) differ, first range " + first + ".." + last) !=
                  std::string::npos, diverged.out);
  CHECK(diverged.out.find("holds 20") != std::string::npos);
  CHECK(diverged.out.find("missing on " + admin_of(c)) != std::string::npos);
  CHECK(diverged.out.find("origin B: identical") != std::string::npos);

  // An unreachable node is an error (exit 2), not a verdict.
  c.stop();
  auto gone = verify(b, c);
  CHECK_MESSAGE(gone.exit_code == 2, gone.out << gone.err);
}

TEST_CASE("verify-pair: GET /digest checks its parameters") {
  temp_dir dir;
  test_node a{dir, "A"};
  a.configure({});
  a.start();
  REQUIRE(publish_n(a, "pa", 10, {.window = 10, .numbered = true}).persisted == 10);
  const auto port = a.ports().admin;
  auto ok = admin_get(port, "/digest?origin=A&buckets=1024");
  REQUIRE_MESSAGE(ok.status == 200, ok.body);
  auto j = nlohmann::json::parse(ok.body);
  std::uint64_t counted = 0;
  for (const auto& bucket : j["buckets"])
    counted += bucket[2].get<std::uint64_t>();
  CHECK(counted == 10);
  CHECK(j["buckets"].size() == 1024);
  CHECK(j["lowest_origin_seq"].get<std::uint64_t>() == a.base_seq());
  CHECK(j["highest_origin_seq"].get<std::uint64_t>() == j["to"].get<std::uint64_t>());
  for (const auto* bad : {"/digest?origin=A&buckets=1025", "/digest?origin=A&from=0", "/digest?from=1",
                          "/digest?origin=A&to=x", "/digest?origin=A&junk=1"}) {
    auto r = admin_get(port, bad);
    CHECK_MESSAGE(r.status == 400, bad << ": " << r.status << " " << r.body);
  }
}
