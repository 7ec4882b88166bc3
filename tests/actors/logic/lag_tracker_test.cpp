// lag_tracker: lag in seconds and bytes and the stall flag, driven by a made-up clock.
#include <doctest/doctest.h>

#include "actors/logic/lag_tracker.hpp"

using tandem::logic::lag_tracker;
using namespace std::chrono_literals;

namespace {

const lag_tracker::time_point t0{};

} // namespace

TEST_CASE("lag_tracker: caught up means no lag and no stall, however long it stays so") {
  lag_tracker t{10, 10, t0, 500ms};
  CHECK(t.lag_records() == 0);
  CHECK(t.lag_seconds() == 0);
  CHECK(t.lag_bytes() == 0);
  CHECK_FALSE(t.stalled(t0 + 1h));
  CHECK(t.stalled_for(t0 + 1h) == 0ns);
}

TEST_CASE("lag_tracker: seconds behind is the write time of the newest record minus that of the acked one") {
  lag_tracker t{0, 0, t0, 10s};
  t.on_durable(5, 500, t0 + 1s);
  t.on_durable(9, 900, t0 + 3s);
  t.on_durable(12, 1200, t0 + 4s);
  CHECK(t.lag_records() == 12);
  t.on_acked(5, t0 + 4s);
  CHECK(t.lag_records() == 7);
  CHECK(t.lag_seconds() == doctest::Approx(3.0)); // newest written at 4 s, record 5 at 1 s
  CHECK(t.lag_bytes() == 700);
  t.on_acked(9, t0 + 5s);
  CHECK(t.lag_seconds() == doctest::Approx(1.0));
  CHECK(t.lag_bytes() == 300);
  t.on_acked(12, t0 + 6s);
  CHECK(t.lag_seconds() == 0);
  CHECK(t.lag_bytes() == 0);
  CHECK(t.marks() == 0);
}

TEST_CASE("lag_tracker: an ack inside a commit dates the record by that commit and splits its bytes") {
  lag_tracker t{0, 0, t0, 10s};
  t.on_durable(10, 1000, t0 + 1s);
  t.on_durable(20, 3000, t0 + 2s);
  t.on_acked(15, t0 + 2s); // half of the second commit's records
  CHECK(t.lag_records() == 5);
  CHECK(t.lag_seconds() == 0); // same commit as the newest record
  CHECK(t.lag_bytes() == 1000);
  t.on_acked(18, t0 + 2s);
  CHECK(t.lag_bytes() == 400);
}

TEST_CASE("lag_tracker: a stopped destination's lag grows while records keep arriving") {
  lag_tracker t{0, 0, t0, 10s};
  t.on_durable(1, 100, t0 + 1s);
  t.on_acked(1, t0 + 1s);
  double previous = 0;
  for (int i = 2; i <= 6; ++i) {
    t.on_durable(i, 100 * i, t0 + std::chrono::seconds{i});
    CHECK(t.lag_seconds() > previous);
    previous = t.lag_seconds();
  }
  CHECK(previous == doctest::Approx(5.0));
}

TEST_CASE("lag_tracker: stalled once records waited stall_after with no progress; progress clears it") {
  lag_tracker t{0, 0, t0, 500ms};
  t.on_durable(3, 300, t0 + 10s); // caught up until now: waiting starts here, not at t0
  CHECK_FALSE(t.stalled(t0 + 10s + 499ms));
  CHECK(t.stalled(t0 + 10s + 500ms));
  CHECK(t.stalled_for(t0 + 11s) == 1s);
  t.on_durable(4, 400, t0 + 11s); // more records do not count as progress
  CHECK(t.stalled(t0 + 11s));
  t.on_acked(2, t0 + 12s); // partial progress restarts the clock
  CHECK_FALSE(t.stalled(t0 + 12s + 100ms));
  CHECK(t.stalled(t0 + 12s + 600ms));
  t.on_acked(4, t0 + 13s);
  CHECK_FALSE(t.stalled(t0 + 1h));
}

TEST_CASE("lag_tracker: records held before the start count as written at the start") {
  lag_tracker t{40, 100, t0, 1s};
  CHECK(t.lag_records() == 60);
  CHECK_FALSE(t.stalled(t0 + 999ms));
  CHECK(t.stalled(t0 + 1s));
  t.on_durable(110, 5000, t0 + 2s);
  CHECK(t.lag_seconds() == doctest::Approx(2.0));
}

TEST_CASE("lag_tracker: stale and repeated events are ignored") {
  lag_tracker t{0, 0, t0, 1s};
  t.on_durable(5, 500, t0 + 1s);
  t.on_durable(5, 600, t0 + 2s);
  t.on_durable(3, 700, t0 + 3s);
  CHECK(t.durable() == 5);
  t.on_acked(4, t0 + 2s);
  t.on_acked(2, t0 + 5s);
  CHECK(t.acked() == 4);
  CHECK_FALSE(t.stalled(t0 + 2s + 999ms)); // the stale ack at 5 s is not progress
}

TEST_CASE("lag_tracker: memory stays bounded; the figures get coarser, not wrong") {
  lag_tracker t{0, 0, t0, 1s, 1ms, 64};
  for (int i = 1; i <= 10000; ++i)
    t.on_durable(i, 10ull * i, t0 + std::chrono::milliseconds{10 * i});
  CHECK(t.marks() <= 64);
  CHECK(t.resolution() > 1ms);
  // Nothing acked: the newest record (100 s) against the start, less at most one resolution
  // (merged commits keep the time of the first).
  CHECK(t.lag_seconds() <= 100.0);
  CHECK(t.lag_seconds() >= 100.0 - std::chrono::duration<double>(t.resolution()).count());
  t.on_acked(5000, t0 + 101s);
  // Record 5000 was written at 50 s, the newest (10000) at 100 s. With coarser marks the acked
  // record is dated by the mark that covers it: up to one mark interval later.
  auto interval_s = std::chrono::duration<double>(t.resolution()).count() + 100 * 0.01 * 64;
  CHECK(t.lag_seconds() <= 50.0);
  CHECK(t.lag_seconds() >= 50.0 - interval_s);
  CHECK(t.lag_bytes() <= 50000);
  CHECK(t.lag_bytes() >= 40000);
}

TEST_CASE("lag_tracker: commits closer than the resolution share one mark") {
  lag_tracker t{0, 0, t0, 1s, 10ms};
  t.on_durable(1, 10, t0);
  t.on_durable(2, 20, t0 + 5ms);
  t.on_durable(3, 30, t0 + 9ms);
  CHECK(t.marks() == 1);
  t.on_durable(4, 40, t0 + 10ms);
  CHECK(t.marks() == 2);
}
