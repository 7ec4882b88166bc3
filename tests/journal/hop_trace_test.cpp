// journal/hop_trace.hpp (the per-hop timestamps of replication_bench --hops) and the table the
// bench makes of them (bench/hop_table.hpp).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "bench/hop_table.hpp"
#include "journal/hop_trace.hpp"

using namespace tandem;

TEST_CASE("hop_trace: off until enabled, then marks in order with their seq; the ring keeps the newest") {
  // Process-wide and once only: this test owns it in this binary (nothing else enables it).
  REQUIRE_FALSE(hop_trace::enabled());
  hop_trace::mark(hop_trace::point::client_read); // off: not kept
  CHECK(hop_trace::dump_json() == "{}");
  hop_trace::enable(10); // clamped to 1024 entries
  REQUIRE(hop_trace::enabled());
  hop_trace::mark(hop_trace::point::client_read);
  hop_trace::mark(hop_trace::point::written, 42);
  hop_trace::mark(hop_trace::point::client_ack, (std::uint64_t{1} << 56) - 1); // the largest seq kept whole
  auto doc = nlohmann::json::parse(hop_trace::dump_json());
  CHECK(doc["capacity"] == 1024);
  CHECK(doc["dropped"] == 0);
  auto marks = doc["marks"];
  REQUIRE(marks.size() == 3);
  CHECK(marks[0][0] == "client_read");
  CHECK(marks[0][2] == 0);
  CHECK(marks[1][0] == "written");
  CHECK(marks[1][2] == 42);
  CHECK(marks[2][0] == "client_ack");
  CHECK(marks[2][2] == (std::uint64_t{1} << 56) - 1);
  CHECK(marks[0][1].get<std::uint64_t>() <= marks[1][1].get<std::uint64_t>());
  CHECK(marks[1][1].get<std::uint64_t>() <= marks[2][1].get<std::uint64_t>());

  for (int i = 0; i < 2000; ++i) hop_trace::mark(hop_trace::point::synced, static_cast<std::uint64_t>(i));
  doc = nlohmann::json::parse(hop_trace::dump_json());
  CHECK(doc["dropped"] == 3 + 2000 - 1024);
  REQUIRE(doc["marks"].size() == 1024);
  CHECK(doc["marks"].back()[2] == 1999); // the newest is last
  CHECK(doc["marks"].front()[2] == 2000 - 1024);
  CHECK(std::string{hop_trace::name(hop_trace::point::count_)} == "unknown");

  // Pages: 2003 marks made, the oldest 979 overwritten. From 0 starts at the oldest held; pages of
  // 500 chain through next until next == end, and together are the whole ring.
  const auto all = doc["marks"];
  nlohmann::json joined = nlohmann::json::array();
  std::uint64_t from = 0;
  int pages = 0;
  for (;; ++pages) {
    auto page = nlohmann::json::parse(hop_trace::dump_json(from, 500));
    CHECK(page["end"] == 2003);
    CHECK(page["dropped"] == 979);
    CHECK(page["from"] == std::max<std::uint64_t>(from, 979));
    CHECK(page["marks"].size() <= 500);
    for (const auto& m : page["marks"]) joined.push_back(m);
    const auto next = page["next"].get<std::uint64_t>();
    CHECK(next == page["from"].get<std::uint64_t>() + page["marks"].size());
    if (next == 2003) break;
    REQUIRE(pages < 10);
    from = next;
  }
  CHECK(pages == 2); // 500 + 500 + 24
  CHECK(joined == all);
  auto past = nlohmann::json::parse(hop_trace::dump_json(5000)); // past the end: an empty page
  CHECK(past["marks"].empty());
  CHECK(past["from"] == 2003);
  CHECK(past["next"] == 2003);
  CHECK(nlohmann::json::parse(hop_trace::dump_json(2002))["marks"].size() == 1); // the newest alone
}

TEST_CASE("hop_trace: GET /debug/hops's query is nothing or from=K, K at most 19 digits") {
  CHECK(hop_trace::parse_from("") == 0);
  CHECK(hop_trace::parse_from("from=0") == 0);
  CHECK(hop_trace::parse_from("from=16384") == 16384);
  CHECK(hop_trace::parse_from("from=9999999999999999999") == 9999999999999999999ull); // 19 digits: the limit
  CHECK_FALSE(hop_trace::parse_from("from=10000000000000000000")); // 20 digits: refused
  for (const char* bad : {"from=", "from=-1", "from=+1", "from=1x", "from= 1", "to=5", "from=5&x=1", "FROM=5", "x"})
    CHECK_FALSE_MESSAGE(hop_trace::parse_from(bad), bad);
}

TEST_CASE("hop_trace: TANDEM_HOP_TRACE's value, at the cap and past it; careless values are off") {
  CHECK(hop_trace::parse_capacity("4096") == 4096);
  CHECK(hop_trace::parse_capacity("4194304") == hop_trace::max_capacity); // the cap
  CHECK(hop_trace::parse_capacity("4194305") == hop_trace::max_capacity); // past it: the cap
  CHECK(hop_trace::parse_capacity("99999999999999999999999") == hop_trace::max_capacity); // no overflow
  for (const char* off : {"", "0", "-5", "+5", "lots", "12x", " 12"})
    CHECK_MESSAGE(hop_trace::parse_capacity(off) == 0, off);
  CHECK(hop_trace::parse_capacity(nullptr) == 0);
}

TEST_CASE("hop_table: per message from the entry's client_read, the median offset of each node's point") {
  using bench::hop_mark;
  std::vector<hop_mark> marks;
  // Three messages, 1000 us apart; B's marks arrive as a second document (merged by time).
  const std::uint64_t written_us[] = {30, 50, 40};
  for (std::uint64_t m = 0; m < 3; ++m) {
    const std::uint64_t t0 = 1'000'000 + m * 1'000'000; // ns
    marks.push_back({"A", "client_read", t0});
    marks.push_back({"A", "written", t0 + written_us[m] * 1000});
    marks.push_back({"A", "written", t0 + 900'000}); // a later one in the same message: the first counts
    marks.push_back({"B", "synced", t0 + 300'000});
    marks.push_back({"A", "client_ack", t0 + 500'000});
  }
  marks.push_back({"A", "client_read", 9'000'000}); // cut by the end of the ring: no client_ack
  marks.push_back({"B", "synced", 9'100'000});
  marks.insert(marks.begin(), hop_mark{"B", "synced", 10}); // before any start: ignored
  std::size_t messages = 0;
  const auto rows = bench::hop_table(marks, "A", &messages);
  CHECK(messages == 3);
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].point == "client_read");
  CHECK(rows[0].median_us == 0);
  CHECK(rows[1].point == "written");
  CHECK(rows[1].median_us == doctest::Approx(40)); // median of 30, 50, 40
  CHECK(rows[1].seen == 3);
  CHECK(rows[2].node == "B");
  CHECK(rows[2].median_us == doctest::Approx(300));
  CHECK(rows[3].point == "client_ack");
  CHECK(rows[3].median_us == doctest::Approx(500));
  // The slow columns: with one message in three the slowest (all acks at 500 us here: ties count).
  CHECK(rows[1].slow_seen == 3);

  // The tail: 99 fast messages and one whose B write came 4 ms late; with 1% slow (one message of
  // 100) the slow columns show that message alone.
  std::vector<hop_mark> tail;
  for (std::uint64_t m = 0; m < 100; ++m) {
    const std::uint64_t t0 = 1'000'000 + m * 10'000'000, late = m == 37 ? 4'000'000 : 0;
    tail.push_back({"A", "client_read", t0});
    tail.push_back({"B", "written", t0 + 100'000 + late});
    tail.push_back({"A", "client_ack", t0 + 400'000 + late + m}); // distinct totals (+m ns)
  }
  const auto trows = bench::hop_table(tail, "A", &messages, 0.01);
  CHECK(messages == 100);
  REQUIRE(trows.size() == 3);
  CHECK(trows[1].point == "written");
  CHECK(trows[1].median_us == doctest::Approx(100));
  CHECK(trows[1].slow_seen == 1);
  CHECK(trows[1].slow_median_us == doctest::Approx(4100));
  CHECK(trows[2].slow_median_us == doctest::Approx(4400.037));

  // A node's document: malformed entries are skipped, not trusted.
  auto doc = nlohmann::json::parse(R"({"marks":[["written",5,1],["bad"],[1,2,3],["synced",-1,0],["synced",7,2]]})");
  const auto parsed = bench::hop_marks_of("B", doc);
  REQUIRE(parsed.size() == 2);
  CHECK(parsed[1].point == "synced");
  CHECK(parsed[1].ns == 7);
  CHECK(bench::hop_marks_of("B", nlohmann::json{}).empty());
}
