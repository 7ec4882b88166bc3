// logic/inbound_view.hpp: per-origin counts and delivery, as tables; the bound on origins at the
// limit and one past it; failed and unknown commits; time given as data.
#include "actors/logic/inbound_view.hpp"

#include <doctest/doctest.h>

using namespace tandem::logic;
using tandem::journal::record;

namespace {

// n records of `origin` (empty: published here).
std::vector<record> records_of(const std::vector<std::pair<std::string, int>>& spec) {
  std::vector<record> out;
  for (const auto& [origin, n] : spec)
    for (int i = 0; i < n; ++i) {
      record r;
      r.origin = origin;
      r.origin_seq = static_cast<std::uint64_t>(i + 1);
      out.push_back(r);
    }
  return out;
}

const inbound_via local{};
const inbound_via via_b{"B", "127.0.0.1:4000"};
const inbound_via via_d{"D", "10.0.0.4:27100"};

} // namespace

TEST_CASE("inbound view: this node's own origin is always listed, with nothing received") {
  inbound_view v("C");
  REQUIRE(v.origins().size() == 1);
  const auto& own = v.origins().at("C");
  CHECK(own.records == 0);
  CHECK(own.received == 0);
  CHECK(own.last_received_ms == 0);
  CHECK(v.total_records() == 0);
}

TEST_CASE("inbound view: durable batches count per origin, with the latest via and time") {
  struct step {
    std::uint64_t id;
    inbound_via via;
    std::vector<std::pair<std::string, int>> records;
    std::uint64_t now_ms;
  };
  struct expect {
    std::string origin;
    std::uint64_t records, received, last_ms;
    inbound_via via;
  };
  const std::vector<step> steps = {
    {1, local, {{"", 3}}, 100},               // three publishes here
    {2, via_b, {{"A", 2}, {"B", 5}}, 200},    // B passes A's records on, and its own
    {3, via_d, {{"A", 1}}, 300},              // then A's arrive through D
    {4, via_b, {{"C", 2}}, 400},              // C's own records refilled by B: still origin C
  };
  inbound_view v("C");
  for (const auto& s : steps) {
    v.submitted(s.id, s.via, records_of(s.records));
    v.committed(s.id, true, s.now_ms);
  }
  const std::vector<expect> want = {
    {"A", 3, 3, 300, via_d},
    {"B", 5, 5, 200, via_b},
    {"C", 5, 5, 400, via_b},
  };
  REQUIRE(v.origins().size() == want.size());
  for (const auto& w : want) {
    CAPTURE(w.origin);
    const auto& o = v.origins().at(w.origin);
    CHECK(o.records == w.records);
    CHECK(o.received == w.received);
    CHECK(o.last_received_ms == w.last_ms);
    CHECK(o.via == w.via);
  }
  CHECK(v.total_records() == 13);
  CHECK(v.total_received() == 13);
  CHECK(v.untracked_records() == 0);
  CHECK(v.pending() == 0);
}

TEST_CASE("inbound view: records of the startup scan are held but not received, with no via") {
  inbound_view v("C");
  for (const char* o : {"A", "A", "C", "B", "A"})
    v.load(o);
  CHECK(v.origins().at("A").records == 3);
  CHECK(v.origins().at("A").received == 0);
  CHECK(v.origins().at("A").last_received_ms == 0);
  CHECK(v.origins().at("B").records == 1);
  CHECK(v.origins().at("C").records == 1);
  CHECK(v.total_records() == 5);
  CHECK(v.total_received() == 0);
  v.submitted(7, via_b, records_of({{"A", 2}}));
  v.committed(7, true, 900);
  CHECK(v.origins().at("A").records == 5);
  CHECK(v.origins().at("A").received == 2);
  CHECK(v.origins().at("A").via == via_b);
}

TEST_CASE("inbound view: a failed commit, an unknown id or a second answer counts nothing") {
  struct row {
    const char* what;
    bool ok;
    std::uint64_t answered_id;
    int answers;
    std::uint64_t records_of_a;
  };
  for (auto r : {row{"write error", false, 1, 1, 0}, row{"unknown id", true, 99, 1, 0},
                 row{"answered twice", true, 1, 2, 4}, row{"answered once", true, 1, 1, 4}}) {
    CAPTURE(r.what);
    inbound_view v("C");
    v.submitted(1, via_b, records_of({{"A", 4}}));
    for (int i = 0; i < r.answers; ++i)
      v.committed(r.answered_id, r.ok, 50);
    const auto it = v.origins().find("A");
    CHECK((it == v.origins().end() ? 0 : it->second.records) == r.records_of_a);
    CHECK(v.total_records() == r.records_of_a);
    CHECK(v.pending() == (r.answered_id == 1 ? 0u : 1u));
  }
}

TEST_CASE("inbound view: a batch with no records leaves nothing pending") {
  inbound_view v("C");
  v.submitted(3, via_b, {});
  CHECK(v.pending() == 0);
  v.committed(3, true, 10);
  CHECK(v.origins().size() == 1);
}

TEST_CASE("inbound view: at most max_origins origins besides the node's own, at the limit and one past it") {
  struct row {
    std::size_t origins_sent; // distinct foreign origins, 1 record each
    std::size_t tracked;      // foreign origins listed
    std::uint64_t untracked;
    bool noted;
  };
  constexpr std::size_t limit = 3;
  for (auto r : {row{limit, limit, 0, false}, row{limit + 1, limit, 1, true}, row{limit + 3, limit, 3, true}}) {
    CAPTURE(r.origins_sent);
    inbound_view v("C", limit);
    for (std::size_t i = 0; i < r.origins_sent; ++i) {
      v.submitted(i, via_b, records_of({{"O" + std::to_string(i), 1}}));
      v.committed(i, true, 10);
    }
    v.submitted(100, local, records_of({{"", 2}})); // the own origin is never refused
    v.committed(100, true, 20);
    CHECK(v.origins().size() == r.tracked + 1);
    CHECK(v.origins().at("C").records == 2);
    CHECK(v.untracked_records() == r.untracked);
    CHECK(v.total_records() == r.origins_sent + 2);
    auto note = v.take_note();
    CHECK(note.has_value() == r.noted);
    if (note)
      CHECK(note->find("O" + std::to_string(limit)) != std::string::npos); // names the first one refused
    CHECK_FALSE(v.take_note()); // once
  }
}

TEST_CASE("inbound view: the bound applies to the startup scan too, and a tracked origin keeps counting") {
  inbound_view v("C", 1);
  v.load("A");
  v.load("B"); // over the limit
  v.load("A");
  CHECK(v.origins().at("A").records == 2);
  CHECK(v.origins().count("B") == 0);
  CHECK(v.untracked_records() == 1);
  CHECK(v.total_records() == 3);
  CHECK(v.take_note().has_value());
}
