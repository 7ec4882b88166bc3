// actors/logic/sync_answer_board.hpp
#include <doctest/doctest.h>

#include <random>
#include <set>

#include "actors/logic/sync_answer_board.hpp"

using tandem::logic::sync_answer_board;

TEST_CASE("sync answer board: answered once committed and acked by every destination it needs, in either order") {
  sync_answer_board b;
  b.set_destinations({"B", "C"});
  REQUIRE(b.add(1, {"B", "C"}, 7));
  CHECK_FALSE(b.acked("B", 10, 7).size());               // acked before its commit: kept
  CHECK_FALSE(b.committed(1, true, 9, 10, 10, 7));       // C has not acked
  CHECK(b.acked("C", 9, 7).empty());                      // below its last seq
  auto a = b.acked("C", 10, 7);
  REQUIRE(a.size() == 1);
  CHECK(a[0].token == 1);
  CHECK(a[0].first == 9);
  CHECK(a[0].last == 10);
  CHECK(b.size() == 0);
  CHECK(b.acked("C", 11, 7).empty()); // once only
  // Acked first, then the commit answers at once.
  REQUIRE(b.add(2, {"B"}, 7));
  CHECK(b.acked("B", 20, 7).empty());
  auto c = b.committed(2, true, 11, 12, 12, 7);
  REQUIRE(c);
  CHECK(c->token == 2);
}

TEST_CASE("sync answer board: a failed commit, a reload or the core's reply first leaves the answer to the core") {
  sync_answer_board b;
  b.set_destinations({"B"});
  REQUIRE(b.add(1, {"B"}, 1));
  CHECK_FALSE(b.committed(1, false, 0, 0, 0, 1)); // not durable here: never answered from acks
  CHECK(b.acked("B", 100, 1).empty());
  CHECK(b.size() == 0);
  REQUIRE(b.add(2, {"B"}, 1));
  CHECK_FALSE(b.committed(2, true, 101, 101, 101, 2)); // a reload since it was marked
  CHECK(b.size() == 0);
  REQUIRE(b.add(3, {"B"}, 2));
  CHECK_FALSE(b.committed(3, true, 102, 102, 102, 2));
  CHECK(b.acked("B", 102, 3).empty()); // the reload came between its commit and the ack
  CHECK(b.size() == 0);
  REQUIRE(b.add(4, {"B"}, 3));
  b.forget(4);
  CHECK_FALSE(b.committed(4, true, 103, 103, 103, 3));
}

TEST_CASE("sync answer board: a hostile or careless caller: unknown destinations, empty needs, a token twice") {
  sync_answer_board b;
  b.set_destinations({"B"});
  CHECK_FALSE(b.add(1, {}, 1));         // needs nothing: the committer answers those
  CHECK_FALSE(b.add(1, {"Z"}, 1));      // not configured
  CHECK(b.add(1, {"B"}, 1));
  CHECK_FALSE(b.add(1, {"B"}, 1));      // already here
  CHECK(b.acked("Z", 1000, 1).empty()); // an ack for another name: ignored, not kept
  CHECK(b.acked_through("Z") == 0);
  CHECK(b.acked("B", 5, 1).empty());
  CHECK(b.acked("B", 3, 1).empty()); // lower: the maximum stays
  CHECK(b.acked_through("B") == 5);
  b.set_destinations({"C"}); // B removed by a reload: its entry can never be covered
  CHECK(b.acked_through("B") == 0);
}

// The rule, from the definition: an entry is answered at the first committed() or acked() event at
// which its commit succeeded, the epoch is the one it was marked under, and every destination it
// needs has acked (maximum so far) at least its last seq; never otherwise, never twice.
TEST_CASE("sync answer board: random interleavings of commits, acks, reloads and forgets match the rule") {
  const std::vector<std::string> dests{"B", "C", "D"};
  for (std::uint32_t seed = 1; seed <= 300; ++seed) {
    std::mt19937 rng(seed);
    sync_answer_board b;
    b.set_destinations(dests);
    struct model {
      std::vector<std::string> needs;
      std::uint64_t epoch, last;
      bool committed = false, failed = false, forgotten = false, answered = false;
    };
    std::map<std::uint64_t, model> m;
    std::map<std::string, std::uint64_t> acked{{"B", 0}, {"C", 0}, {"D", 0}};
    std::uint64_t epoch = 1, next_token = 1;
    auto answerable = [&](const model& e) {
      return e.committed && !e.failed && !e.forgotten && !e.answered && e.epoch == epoch &&
             std::all_of(e.needs.begin(), e.needs.end(), [&](const auto& n) { return acked[n] >= e.last; });
    };
    auto check_answers = [&](const std::vector<sync_answer_board::answer>& got) {
      std::set<std::uint64_t> want;
      for (auto& [t, e] : m)
        if (answerable(e))
          want.insert(t);
      std::set<std::uint64_t> have;
      for (const auto& a : got) {
        have.insert(a.token);
        CHECK(a.last == m[a.token].last);
        m[a.token].answered = true;
      }
      CHECK_MESSAGE(have == want, "seed " << seed);
    };
    for (int step = 0; step < 200; ++step) {
      const int what = static_cast<int>(rng() % 100);
      if (what < 20) { // a publish marked
        std::vector<std::string> needs;
        for (const auto& d : dests)
          if (rng() % 2)
            needs.push_back(d);
        if (needs.empty())
          needs.push_back(dests[rng() % dests.size()]);
        const auto t = next_token++;
        REQUIRE(b.add(t, needs, epoch));
        m[t] = model{needs, epoch, t * 10};
      } else if (what < 45) { // a commit's outcome, for a registered one not yet committed
        std::vector<std::uint64_t> open;
        for (auto& [t, e] : m)
          if (!e.committed && !e.forgotten)
            open.push_back(t);
        if (open.empty())
          continue;
        const auto t = open[rng() % open.size()];
        auto& e = m[t];
        e.committed = true;
        e.failed = rng() % 10 == 0;
        auto r = b.committed(t, !e.failed, e.last - 9, e.last, e.last, epoch);
        check_answers(r ? std::vector<sync_answer_board::answer>{*r} : std::vector<sync_answer_board::answer>{});
      } else if (what < 90) { // an ack, anywhere around the seqs in play, sometimes lower than before
        const auto& d = dests[rng() % dests.size()];
        const std::uint64_t seq = rng() % (next_token * 10 + 5);
        acked[d] = std::max(acked[d], seq);
        check_answers(b.acked(d, seq, epoch));
      } else if (what < 95) { // a live reload
        ++epoch;
      } else if (!m.empty()) { // the core answered one first
        auto it = m.begin();
        std::advance(it, static_cast<long>(rng() % m.size()));
        it->second.forgotten = true;
        b.forget(it->first);
      }
    }
    // Nothing answerable was left unanswered at its event, and nothing answered twice (the sets
    // above); what is left in the board is what is still waiting or was dropped lazily.
    for (auto& [t, e] : m)
      if (e.answered) {
        CHECK(e.committed);
        CHECK_FALSE(e.failed);
      }
  }
}
