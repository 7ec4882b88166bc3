// actors/logic/memory_budget.hpp, connection_deadlines.hpp, replication_slots.hpp and the bounds of
// actors/instance_groups.hpp: admission control against memory an outsider can make the node hold.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>

#include "actors/instance_groups.hpp"
#include "actors/logic/connection_deadlines.hpp"
#include "actors/logic/memory_budget.hpp"
#include "actors/logic/replication_slots.hpp"

using namespace tandem;
using namespace tandem::logic;
using std::chrono::milliseconds;
using verdict = connection_buffers::verdict;

TEST_CASE("memory budget: an acquire up to the limit succeeds, one byte more is refused and takes nothing") {
  memory_budget b{1000};
  CHECK(b.try_acquire(600));
  CHECK(b.try_acquire(400)); // exactly at the limit
  CHECK(b.used() == 1000);
  CHECK_FALSE(b.try_acquire(1)); // limit + 1
  CHECK(b.used() == 1000);
  CHECK(b.refusals() == 1);
  b.release(1);
  CHECK(b.try_acquire(1));
  CHECK(b.try_acquire(0));
  CHECK_FALSE(b.try_acquire(~std::uint64_t{0})); // no overflow on a huge request
  CHECK(b.peak() == 1000);
}

TEST_CASE("memory budget: a single request of limit bytes fits, limit + 1 never does") {
  memory_budget b{4096};
  CHECK_FALSE(b.try_acquire(4097));
  CHECK(b.used() == 0);
  CHECK(b.try_acquire(4096));
  b.release(4096);
  CHECK(b.used() == 0);
}

TEST_CASE("memory budget: charged bytes count against admission even past the limit") {
  memory_budget b{100};
  b.charge(150);
  CHECK(b.used() == 150);
  CHECK_FALSE(b.try_acquire(1));
  b.release(150);
  CHECK(b.try_acquire(100));
}

TEST_CASE("memory budget: spare bytes (a cache) are taken only up to half the limit, a refusal is not counted") {
  logic::memory_budget b{1000};
  CHECK(b.try_acquire_spare(500)); // exactly half
  CHECK_FALSE(b.try_acquire_spare(1)); // half + 1
  CHECK(b.used() == 500);
  CHECK(b.refusals() == 0); // a cache that stays empty is no admission refusal
  CHECK(b.try_acquire_spare(0));
  CHECK(b.try_acquire(500)); // what must be admitted still has the other half
  b.release(500);
  b.release(500);
  CHECK(b.try_acquire(700)); // admitted frames take the budget past half: no spare bytes then
  CHECK_FALSE(b.try_acquire_spare(1));
  CHECK_FALSE(b.try_acquire_spare(~std::uint64_t{0})); // no overflow on a huge request
  b.release(700);
  CHECK(b.used() == 0);
  logic::memory_budget odd{1001}; // half rounds down
  CHECK_FALSE(odd.try_acquire_spare(501));
  CHECK(odd.try_acquire_spare(500));
}

TEST_CASE("connection buffers: a frame header acquires the whole frame, completion releases it") {
  auto budget = std::make_shared<memory_budget>(100);
  auto& b = *budget;
  connection_buffers c{budget, 50, 10};
  CHECK(c.on_partial_frame(10) == verdict::ok); // fits in the first read: free
  CHECK(b.used() == 0);
  CHECK(c.on_partial_frame(40) == verdict::ok);
  CHECK(b.used() == 40);
  CHECK(c.on_partial_frame(40) == verdict::ok); // the same frame, more of its body: nothing more
  CHECK(b.used() == 40);
  connection_buffers other{budget, 50, 10};
  CHECK(other.on_partial_frame(61) == verdict::over_node_budget); // 40 + 61 > 100
  CHECK(other.partial_reserved() == 0);
  CHECK(other.on_partial_frame(60) == verdict::ok); // 40 + 60 == 100: at the limit
  CHECK(c.on_partial_frame(0) == verdict::ok);      // the first frame was handled
  CHECK(b.used() == 60);
}

TEST_CASE("connection buffers: release everything when the connection ends") {
  auto budget = std::make_shared<memory_budget>(1000);
  auto& b = *budget;
  {
    connection_buffers c{budget, 500, 10};
    CHECK(c.on_partial_frame(300) == verdict::ok);
    CHECK(c.on_output(100) == verdict::ok);
    CHECK(b.used() == 400);
  }
  CHECK(b.used() == 0);
}

TEST_CASE("connection buffers: unsent output at the connection limit is fine, one byte more closes") {
  auto budget = std::make_shared<memory_budget>(1000);
  auto& b = *budget;
  connection_buffers c{budget, 100, 10};
  CHECK(c.on_output(100) == verdict::ok); // at the limit
  CHECK(c.on_output(1) == verdict::over_connection_limit);
  c.on_output_remaining(0); // the client read it all
  CHECK(c.unsent() == 0);
  CHECK(b.used() == 0);
  CHECK(c.on_output(60) == verdict::ok);
  c.on_output_remaining(20);
  CHECK(b.used() == 20);
  c.on_output_remaining(500); // never more than was queued
  CHECK(b.used() == 20);
}

TEST_CASE("connection buffers: output the node budget cannot take is refused and forced output is charged") {
  auto budget = std::make_shared<memory_budget>(100);
  auto& b = *budget;
  connection_buffers c{budget, 1000, 10};
  CHECK(c.on_output(100) == verdict::ok);
  CHECK(c.on_output(1) == verdict::over_node_budget);
  CHECK(c.unsent() == 100);
  CHECK(c.on_output(50, true) == verdict::ok); // a subscription's chunk: exists already
  CHECK(b.used() == 150);
}

TEST_CASE("connection buffers: a connection torn down after the node context still gives its bytes back") {
  // The shutdown crash (issue 14 CI, ASan heap-use-after-free in memory_budget::release): a
  // replication connection dropped the node context, the last other owner of the budget, before
  // its buffers; the buffers then released into freed memory. They share the budget now.
  auto budget = std::make_shared<memory_budget>(1000);
  std::weak_ptr<memory_budget> seen = budget;
  std::optional<connection_buffers> c;
  c.emplace(budget, 500, 10);
  CHECK(c->on_partial_frame(300) == verdict::ok);
  CHECK(c->on_output(100) == verdict::ok);
  budget.reset(); // the context goes first
  REQUIRE_FALSE(seen.expired());
  CHECK(seen.lock()->used() == 400);
  c.reset(); // then the connection's buffers: released into a live budget, which goes with them
  CHECK(seen.expired());
}

TEST_CASE("connection deadlines: a partial frame must complete within the frame timeout") {
  connection_deadlines d{milliseconds{1000}, milliseconds{5000}, milliseconds{0}};
  d.on_read(milliseconds{100}, 1, true); // one frame, then the start of another
  CHECK_FALSE(d.check(milliseconds{1100}, false));
  CHECK(d.check(milliseconds{1101}, false));
  CHECK(d.check(milliseconds{1101}, true)); // busy does not excuse a stalled frame
  d.on_read(milliseconds{1050}, 0, true);   // more bytes of the same frame: the clock keeps running
  CHECK(d.check(milliseconds{1101}, false));
  d.on_read(milliseconds{1090}, 1, false); // it completed
  CHECK_FALSE(d.check(milliseconds{1101}, false));
}

TEST_CASE("connection deadlines: a new frame started in the read that completed the last one restarts the clock") {
  connection_deadlines d{milliseconds{1000}, milliseconds{5000}, milliseconds{0}};
  d.on_read(milliseconds{0}, 0, true);
  d.on_read(milliseconds{900}, 1, true);
  CHECK_FALSE(d.check(milliseconds{1800}, false));
  CHECK(d.check(milliseconds{1901}, false));
}

TEST_CASE("connection deadlines: idle only when not busy, at the timeout and not before") {
  connection_deadlines d{milliseconds{1000}, milliseconds{5000}, milliseconds{0}};
  d.on_read(milliseconds{10}, 1, false);
  CHECK_FALSE(d.check(milliseconds{5010}, false)); // at the limit
  CHECK(d.check(milliseconds{5011}, false));       // limit + 1
  CHECK_FALSE(d.check(milliseconds{50000}, true)); // a subscriber or a publisher awaiting acks
}

TEST_CASE("replication slots: at the limit the oldest unidentified connection is evicted first") {
  replication_slots<int> s{3};
  CHECK(s.admit(1).admitted);
  CHECK(s.admit(2).admitted);
  CHECK(s.admit(3).admitted);
  s.identified(1, true);
  auto r = s.admit(4);
  CHECK(r.admitted);
  REQUIRE(r.evict);
  CHECK(*r.evict == 2);
  CHECK(s.live() == 3);
  s.gone(2);
  CHECK(s.live() == 3);
}

TEST_CASE("replication slots: identified strangers go before configured destinations, which are never evicted") {
  replication_slots<int> s{2};
  CHECK(s.admit(1).admitted);
  CHECK(s.admit(2).admitted);
  s.identified(1, false); // a name this node does not replicate with
  s.identified(2, true);
  auto r = s.admit(3);
  REQUIRE(r.evict);
  CHECK(*r.evict == 1);
  s.identified(3, true);
  auto refused = s.admit(4);
  CHECK_FALSE(refused.admitted);
  CHECK_FALSE(refused.evict);
  CHECK(s.count(replication_slots<int>::kind::configured) == 2);
}

TEST_CASE("replication slots: a flood of idle connections cannot keep a partner out") {
  replication_slots<int> s{8};
  for (int i = 0; i < 8; ++i)
    CHECK(s.admit(i).admitted);
  int next = 8;
  auto partner = s.admit(next++);
  CHECK(partner.admitted);
  s.identified(8, true);
  for (int i = 0; i < 1000; ++i) { // the flood goes on: only strangers are evicted
    auto r = s.admit(next++);
    CHECK(r.admitted);
    REQUIRE(r.evict);
    CHECK(*r.evict != 8);
    s.gone(*r.evict);
  }
  CHECK(s.live() == 8);
  CHECK(s.count(replication_slots<int>::kind::configured) == 1);
}

TEST_CASE("instance groups: bounded by entries, the oldest learned is pruned, pinned ones stay") {
  instance_groups g{3, 1u << 20};
  g.pin("D", "dest-group");
  CHECK(g.learn("a", "g").empty());
  CHECK(g.learn("b", "g").empty());
  CHECK(g.learn("c", "g").empty()); // at the limit
  auto pruned = g.learn("d", "g");  // limit + 1
  REQUIRE(pruned.size() == 1);
  CHECK(pruned[0] == "a");
  CHECK(g.group_of("a").empty());
  CHECK(g.group_of("d") == "g");
  CHECK(g.group_of("D") == "dest-group");
  CHECK(g.learned() == 3);
  CHECK(g.pruned() == 1);
  CHECK(g.learn("D", "announced").empty()); // a destination may announce its group, stays pinned
  for (int i = 0; i < 10; ++i)
    g.learn("x" + std::to_string(i), "g");
  CHECK(g.group_of("D") == "announced");
}

TEST_CASE("instance groups: bounded by bytes of names and groups") {
  instance_groups g{1000, 20};
  CHECK(g.learn("aaaa", "gggggg").empty()); // 10 bytes
  CHECK(g.learn("bbbb", "gggggg").empty()); // 20: at the limit
  auto pruned = g.learn("c", "g");          // 22 > 20
  REQUIRE(pruned.size() == 1);
  CHECK(pruned[0] == "aaaa");
  auto too_big = g.learn(std::string(30, 'z'), "g");
  REQUIRE(too_big.size() == 1); // cannot be kept at all; nothing else lost
  CHECK(g.group_of("bbbb") == "gggggg");
  CHECK(g.learn("bbbb", "other").empty()); // relearning replaces, not grows
  CHECK(g.learned() == 2);
}
