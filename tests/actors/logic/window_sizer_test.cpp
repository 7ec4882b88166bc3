// actors/logic/window_sizer.hpp: a link's in-flight bound from its ack turns and delivery rate,
// between its floor and ceiling and within the node's memory budget. The test is the clock.
#include <doctest/doctest.h>

#include <cstdint>
#include <memory>

#include "actors/logic/memory_budget.hpp"
#include "actors/logic/window_sizer.hpp"

using namespace tandem::logic;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;
constexpr std::int64_t ms = 1'000'000; // ns

window_settings settings(std::uint64_t floor = 4 * MiB, std::uint64_t ceiling = 64 * MiB, std::size_t links = 1) {
  window_settings s;
  s.floor = floor;
  s.ceiling = ceiling;
  s.links = links;
  return s;
}

// A link held by its window: fills the window with 1 MiB batches at `now`, and one ack frees them
// `turn` later. Returns the time of that ack; `seq` counts batches (one seq per batch).
std::int64_t full_turn(window_sizer& w, std::uint64_t& seq, std::int64_t now, std::int64_t turn) {
  const std::uint64_t batches = w.window() / MiB;
  for (std::uint64_t i = 0; i < batches; ++i)
    w.on_sent(++seq, MiB, now);
  w.on_ack(seq, now + turn);
  return now + turn;
}

} // namespace

TEST_CASE("window sizer: the header's worked example, 4 -> 8 -> 16 -> 32 -> 64 MiB over 100 ms turns") {
  window_sizer w{settings()};
  CHECK(w.window() == 4 * MiB);
  std::uint64_t seq = 0;
  std::int64_t t = 0;
  for (std::uint64_t expect : {8 * MiB, 16 * MiB, 32 * MiB, 64 * MiB, 64 * MiB}) {
    t = full_turn(w, seq, t, 100 * ms);
    CHECK(w.window() == expect);
  }
  const auto f = w.figures();
  CHECK(f.min_turn_ns == 100 * ms);
  CHECK(f.srtt_ns == 100 * ms);
  CHECK(f.samples == 5);
  CHECK(f.ignored_samples == 0);
}

TEST_CASE("window sizer: a queue in front of a slower bottleneck does not grow the window") {
  window_sizer w{settings()};
  std::uint64_t seq = 0;
  std::int64_t t = full_turn(w, seq, 0, 100 * ms); // 4 MiB in 100 ms: 40 MiB/s
  REQUIRE(w.window() == 8 * MiB);
  // The bottleneck runs at 40 MiB/s: 8 MiB take 200 ms. The rate stays, the shortest turn too.
  for (int i = 0; i < 5; ++i) {
    t = full_turn(w, seq, t, 200 * ms);
    CHECK(w.window() == 8 * MiB);
  }
}

TEST_CASE("window sizer: a short round trip never grows it above the floor") {
  window_sizer w{settings()};
  std::uint64_t seq = 0;
  std::int64_t t = 0;
  // 1 MiB batches acked 8 ms apart (a 125 MiB/s wire), the first 8 ms after it left:
  // 2 x 125 MiB/s x 8 ms = 2 MiB, under the floor.
  for (int i = 0; i < 3; ++i) {
    for (int b = 0; b < 4; ++b)
      w.on_sent(++seq, MiB, t);
    t += 32 * ms; // the wire takes 32 ms for 4 MiB
    w.on_ack(seq - 3, t - 24 * ms);
    w.on_ack(seq - 2, t - 16 * ms);
    w.on_ack(seq - 1, t - 8 * ms);
    w.on_ack(seq, t);
  }
  CHECK(w.figures().min_turn_ns == 8 * ms);
  CHECK(w.window() == 4 * MiB);
}

TEST_CASE("window sizer: shrinks when the round trip drops") {
  window_sizer w{settings()};
  std::uint64_t seq = 0;
  std::int64_t t = 0;
  for (int i = 0; i < 4; ++i)
    t = full_turn(w, seq, t, 100 * ms);
  REQUIRE(w.window() == 64 * MiB);
  // The link moves to a near peer: 1 MiB batches acked 1 ms after they leave, one at a time.
  for (int i = 0; i < 8; ++i) {
    w.on_sent(++seq, MiB, t);
    t += ms;
    w.on_ack(seq, t);
  }
  CHECK(w.figures().min_turn_ns == ms);
  CHECK(w.window() < 64 * MiB);
  // 2 x the highest rate (1 MiB / 1 ms, above the 640 MiB/s of the long turns) x 1 ms = 2 MiB:
  // back at the floor.
  CHECK(w.window() == 4 * MiB);
}

TEST_CASE("window sizer: never above the ceiling, never below the floor; a ceiling below the floor is the floor") {
  SUBCASE("ceiling") {
    window_sizer w{settings(4 * MiB, 10 * MiB)};
    std::uint64_t seq = 0;
    std::int64_t t = 0;
    for (int i = 0; i < 6; ++i)
      t = full_turn(w, seq, t, 500 * ms);
    CHECK(w.window() == 10 * MiB);
  }
  SUBCASE("floor, before and after samples of a slow peer") {
    window_sizer w{settings(4 * MiB, 64 * MiB)};
    CHECK(w.window() == 4 * MiB);
    std::uint64_t seq = 0;
    w.on_sent(++seq, 1000, 0);
    w.on_ack(seq, 10 * ms); // 100 KB/s x 10 ms: nothing
    CHECK(w.window() == 4 * MiB);
  }
  SUBCASE("ceiling below floor") {
    window_sizer w{settings(4 * MiB, 1 * MiB)};
    CHECK(w.settings().ceiling == 4 * MiB);
    std::uint64_t seq = 0;
    full_turn(w, seq, 0, 100 * ms);
    CHECK(w.window() == 4 * MiB);
  }
}

TEST_CASE("window sizer: grows at most 2x per ack whatever a sample says") {
  window_sizer w{settings(4 * MiB, 1024 * MiB)};
  std::uint64_t seq = 0;
  // 40 MiB out at once (the sizer does not know the link's window) and acked after 100 ms:
  // 2 x 400 MiB/s x 0.1 s = 80 MiB wanted.
  for (int b = 0; b < 40; ++b)
    w.on_sent(++seq, MiB, 0);
  CHECK(w.on_ack(seq, 100 * ms));
  CHECK(w.window() == 8 * MiB);
}

TEST_CASE("window sizer: hostile and odd samples are ignored, never sized from") {
  window_sizer w{settings()};
  std::uint64_t seq = 0;
  for (int b = 0; b < 4; ++b)
    w.on_sent(++seq, MiB, 1000 * ms);

  SUBCASE("an ack for more than was sent frees nothing and samples nothing") {
    CHECK_FALSE(w.on_ack(5, 1100 * ms));
    CHECK(w.figures().ignored_acks == 1);
    CHECK(w.figures().samples == 0);
    // the batches are still in flight: their real ack samples them
    w.on_ack(4, 1100 * ms);
    CHECK(w.figures().samples == 1);
    CHECK(w.window() == 8 * MiB);
  }
  SUBCASE("an ack with nothing in flight, or below the oldest batch, is ignored") {
    window_sizer empty{settings()};
    CHECK_FALSE(empty.on_ack(1, 5 * ms));
    CHECK(empty.figures().ignored_acks == 1);
    CHECK_FALSE(w.on_ack(0, 1100 * ms));
    CHECK(w.figures().ignored_acks == 1);
  }
  SUBCASE("a zero turn") {
    w.on_ack(4, 1000 * ms);
    CHECK(w.figures().samples == 0);
    CHECK(w.figures().ignored_samples == 1);
    CHECK(w.window() == 4 * MiB);
  }
  SUBCASE("a negative turn (a clock that went back)") {
    w.on_ack(4, 900 * ms);
    CHECK(w.figures().ignored_samples == 1);
    CHECK(w.window() == 4 * MiB);
  }
  SUBCASE("a turn above max_turn") {
    w.on_ack(4, 1000 * ms + w.settings().max_turn_ns + 1);
    CHECK(w.figures().ignored_samples == 1);
    CHECK(w.figures().srtt_ns == 0);
    CHECK(w.window() == 4 * MiB);
  }
  SUBCASE("a turn of exactly max_turn is believed, and capped by the ceiling") {
    w.on_ack(4, 1000 * ms + w.settings().max_turn_ns);
    CHECK(w.figures().samples == 1);
    CHECK(w.window() == 8 * MiB); // 2 x 4 MiB / 30 s x 30 s
  }
  SUBCASE("a seq sent twice or out of order is not recorded") {
    w.on_sent(3, MiB, 1001 * ms);
    w.on_ack(4, 1100 * ms);
    CHECK(w.figures().samples == 1);
  }
}

TEST_CASE("window sizer: a reconnect forgets what was in flight, keeps the estimates and the window") {
  window_sizer w{settings()};
  std::uint64_t seq = 0;
  std::int64_t t = full_turn(w, seq, 0, 100 * ms);
  REQUIRE(w.window() == 8 * MiB);
  w.on_sent(++seq, MiB, t);
  w.on_disconnected();
  CHECK_FALSE(w.on_ack(seq, t + 60'000 * ms)); // the new connection's resume: no sample
  CHECK(w.figures().ignored_acks == 1);
  CHECK(w.window() == 8 * MiB);
}

TEST_CASE("window sizer: growth comes from the node budget, at most half of it for all links, an equal share each") {
  auto budget = std::make_shared<memory_budget>(64 * MiB); // half: 32 MiB, 2 links: 16 MiB each
  window_sizer a{settings(4 * MiB, 64 * MiB, 2), budget};
  window_sizer b{settings(4 * MiB, 64 * MiB, 2), budget};
  std::uint64_t sa = 0, sb = 0;
  std::int64_t t = 0;
  for (int i = 0; i < 6; ++i) {
    full_turn(a, sa, t, 100 * ms);
    t = full_turn(b, sb, t, 100 * ms);
  }
  CHECK(a.window() == 20 * MiB); // floor 4 + share 16
  CHECK(b.window() == 20 * MiB);
  CHECK(a.figures().granted == 16 * MiB);
  CHECK(budget->used() == 32 * MiB);
  CHECK(a.figures().budget_refusals > 0);
  // Publishers can still take the other half of the budget.
  CHECK(budget->try_acquire(32 * MiB));
  CHECK_FALSE(budget->try_acquire(1));
  budget->release(32 * MiB);
}

TEST_CASE("window sizer: other users of the budget hold it: growth waits, and gives back when over half") {
  auto budget = std::make_shared<memory_budget>(64 * MiB);
  REQUIRE(budget->try_acquire(30 * MiB)); // clients' frames and output
  window_sizer w{settings(4 * MiB, 64 * MiB, 1), budget};
  std::uint64_t seq = 0;
  std::int64_t t = 0;
  for (int i = 0; i < 4; ++i)
    t = full_turn(w, seq, t, 100 * ms);
  CHECK(w.window() == 6 * MiB); // 32 MiB half - 30 MiB used: 2 MiB of growth
  CHECK(budget->used() == 32 * MiB);

  // The clients take more (e.g. a slow subscriber's output: charge() ignores the limit): the
  // next ack gives growth back down to what fits, never below the floor.
  budget->charge(10 * MiB);
  t = full_turn(w, seq, t, 100 * ms);
  CHECK(w.window() == 4 * MiB);
  CHECK(w.figures().granted == 0);
  CHECK(budget->used() == 40 * MiB);

  // They let go: the link grows again, to its share (the whole half: one link), and its end
  // returns everything.
  budget->release(40 * MiB);
  for (int i = 0; i < 4; ++i)
    t = full_turn(w, seq, t, 100 * ms);
  CHECK(w.window() == 36 * MiB); // floor 4 + 32
  CHECK(budget->used() == 32 * MiB);
}

TEST_CASE("window sizer: its end gives its growth back to the budget") {
  auto budget = std::make_shared<memory_budget>(64 * MiB);
  {
    window_sizer w{settings(), budget};
    std::uint64_t seq = 0;
    full_turn(w, seq, 0, 100 * ms);
    CHECK(budget->used() == 4 * MiB);
  }
  CHECK(budget->used() == 0);
}

TEST_CASE("window sizer: a budget never over-granted under a tight limit (limit + 1 refused)") {
  auto budget = std::make_shared<memory_budget>(2 * MiB + 2); // half: 1 MiB + 1
  window_sizer w{settings(4 * MiB, 64 * MiB, 1), budget};
  std::uint64_t seq = 0;
  std::int64_t t = 0;
  for (int i = 0; i < 4; ++i)
    t = full_turn(w, seq, t, 100 * ms);
  CHECK(w.figures().granted == MiB + 1); // exactly half, not one byte more
  CHECK(budget->used() == MiB + 1);
}

TEST_CASE("window sizer: an idle period does not count as delivery time") {
  window_sizer w{settings()};
  std::uint64_t seq = 0;
  std::int64_t t = full_turn(w, seq, 0, 100 * ms);
  REQUIRE(w.window() == 8 * MiB);
  // Ten seconds without records, then a full window acked 100 ms later: its rate interval starts
  // at its send (8 MiB / 100 ms), not at the ack ten seconds before (8 MiB / 10.1 s: the floor).
  full_turn(w, seq, t + 10'000 * ms, 100 * ms);
  CHECK(w.window() == 16 * MiB);
}
