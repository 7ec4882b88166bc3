#include "actors/metrics/instruments.hpp"

#include <cmath>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

using namespace tandem::metrics;

TEST_CASE("counter adds integer and fractional amounts") {
  counter c;
  CHECK(c.value() == 0);
  c.inc();
  c.inc(41);
  CHECK(c.whole() == 42);
  CHECK(c.is_integral());
  c.add(0.5);
  CHECK_FALSE(c.is_integral());
  CHECK(c.value() == 42.5);
}

TEST_CASE("counter keeps integers beyond 2^53 exact") {
  counter c;
  c.inc((std::uint64_t{1} << 53) + 1);
  CHECK(c.whole() == (std::uint64_t{1} << 53) + 1);
}

TEST_CASE("counter set_total replaces the value for collect callbacks") {
  counter c;
  c.inc(5);
  c.set_total(2.25);
  CHECK(c.value() == 2.25);
  c.set_total(std::uint64_t{7});
  CHECK(c.is_integral());
  CHECK(c.whole() == 7);
}

TEST_CASE("gauge sets, increments and decrements") {
  gauge g;
  g.set(10);
  g.inc();
  g.inc(2.5);
  g.dec(4);
  CHECK(g.value() == 9.5);
  g.dec(20);
  CHECK(g.value() == -10.5);
}

TEST_CASE("histogram buckets are cumulative and end with +Inf equal to count") {
  const std::vector<double> bounds{0.1, 1, 10};
  histogram h(bounds);
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 100.0, 1000.0}) h.observe(v);
  const auto s = h.read();
  // 0.1 and 1.0 sit on their bounds: "le" is inclusive.
  CHECK(s.cumulative == std::vector<std::uint64_t>{2, 4, 5, 7});
  CHECK(s.count == 7);
  CHECK(s.sum == doctest::Approx(1106.65));
}

TEST_CASE("histogram without bounds has only +Inf") {
  histogram h(std::span<const double>{});
  h.observe(-3);
  h.observe(3);
  const auto s = h.read();
  CHECK(s.cumulative == std::vector<std::uint64_t>{2});
  CHECK(s.sum == 0);
}

TEST_CASE("histogram puts NaN in +Inf only") {
  const std::vector<double> bounds{1, 2};
  histogram h(bounds);
  h.observe(std::nan(""));
  const auto s = h.read();
  CHECK(s.cumulative == std::vector<std::uint64_t>{0, 0, 1});
  CHECK(std::isnan(s.sum));
}

TEST_CASE("concurrent updates from several threads sum exactly") {
  constexpr int threads = 8;
  constexpr int per_thread = 20000;
  counter c;
  counter seconds;
  gauge g;
  const std::vector<double> bounds{0.5, 1.5};
  histogram h(bounds);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        c.inc();
        seconds.add(0.25); // exact in binary, so the sum is exact
        g.inc();
        g.dec(0.5);
        h.observe(t % 2 == 0 ? 1.0 : 2.0);
      }
    });
  }
  for (auto& w : workers) w.join();
  constexpr double total = double(threads) * per_thread;
  CHECK(c.whole() == threads * per_thread);
  CHECK(seconds.value() == total * 0.25);
  CHECK(g.value() == total * 0.5);
  const auto s = h.read();
  CHECK(s.cumulative == std::vector<std::uint64_t>{0, std::uint64_t(total / 2),
                                                   std::uint64_t(total)});
  CHECK(s.sum == total * 1.5);
}
