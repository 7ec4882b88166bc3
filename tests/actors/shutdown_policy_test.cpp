#include <doctest/doctest.h>

#include "actors/shutdown_policy.hpp"

using tandem::shutdown_policy;
using namespace std::chrono_literals;

TEST_CASE("first signal begins a graceful shutdown") {
  shutdown_policy p{1800ms};
  shutdown_policy::clock::time_point t0{};
  CHECK(p.on_tick(t0 + 1h) == shutdown_policy::action::none); // running: ticks do nothing
  CHECK(p.on_signal(t0) == shutdown_policy::action::begin_shutdown);
  CHECK(p.stopping());
}

TEST_CASE("a second signal exits at once") {
  shutdown_policy p{1800ms};
  shutdown_policy::clock::time_point t0{};
  REQUIRE(p.on_signal(t0) == shutdown_policy::action::begin_shutdown);
  CHECK(p.on_signal(t0 + 10ms) == shutdown_policy::action::exit_now_second_signal);
}

TEST_CASE("a shutdown that overruns the grace period exits at once") {
  shutdown_policy p{1800ms};
  shutdown_policy::clock::time_point t0{};
  REQUIRE(p.on_signal(t0) == shutdown_policy::action::begin_shutdown);
  CHECK(p.on_tick(t0 + 1799ms) == shutdown_policy::action::none);
  CHECK(p.on_tick(t0 + 1800ms) == shutdown_policy::action::none);
  CHECK(p.on_tick(t0 + 1801ms) == shutdown_policy::action::exit_now_overrun);
}
