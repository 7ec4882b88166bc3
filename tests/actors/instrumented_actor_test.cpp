// instrumented<Base>: the CAF hooks feed live_metrics with what really happens in a mailbox.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "actors/instrumented_actor.hpp"
#include "actors/metrics/live_metrics.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using tandem::instrumented;
using tandem::metrics::live_metrics;

namespace {

using block_atom = caf::atom_constant<caf::atom("block")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

struct counter_state {
  int seen = 0;
};

nlohmann::json figures_of(const std::string& name) {
  auto all = live_metrics::instance().actors_json();
  for (const auto& a : all["by_name"])
    if (a["name"] == name)
      return a;
  return nullptr;
}

// Counts int messages; `block` parks the actor (detached: its own thread) until the future is set.
caf::behavior counter(instrumented<caf::stateful_actor<counter_state>>* self, std::string name,
                      std::shared_future<void> gate) {
  self->bind_probe(name);
  return {
    [=](int) { ++self->state.seen; },
    [=](block_atom) { gate.wait(); },
    [=](count_atom) { return self->state.seen; },
  };
}

caf::actor_system_config& quiet(caf::actor_system_config& cfg) {
  cfg.set("logger.console", caf::atom("none"));
  cfg.set("scheduler.max-threads", 2);
  return cfg;
}

} // namespace

TEST_CASE("instrumented actor: processed messages, mailbox size while blocked, mailbox time") {
  live_metrics::instance().enable(true);
  caf::actor_system_config cfg;
  caf::actor_system sys{quiet(cfg)};
  caf::scoped_actor self{sys};
  std::promise<void> release;
  auto a = sys.spawn<caf::detached>(counter, std::string{"test-blocked"}, release.get_future().share());
  // The probe is bound when the behavior runs (on the actor's thread): wait for it.
  REQUIRE(tandem::test::wait_until([] { return !figures_of("test-blocked").is_null(); }, 5s));
  self->send(a, block_atom::value);
  for (int i = 0; i < 5; ++i)
    self->send(a, i);
  auto last_sent = std::chrono::steady_clock::now();
  // Blocked in the first handler: the other five wait in the mailbox.
  CHECK(tandem::test::wait_until([] { return figures_of("test-blocked")["mailbox_size"] == 5.0; }, 5s));
  auto processed_before = live_metrics::instance().actors_json()["processed_messages"].get<std::uint64_t>();
  // The five ints wait at least from their send until the release.
  auto min_wait_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - last_sent).count();
  release.set_value();
  int seen = 0;
  self->request(a, caf::infinite, count_atom::value).receive([&](int n) { seen = n; }, [](caf::error&) {});
  CHECK(seen == 5);
  // The reply to `count` leaves before the hooks finish counting its request.
  CHECK(tandem::test::wait_until([] { return figures_of("test-blocked")["processed"] == 7; }, 5s)); // block, 5 ints, count
  auto f = figures_of("test-blocked");
  CHECK(f["mailbox_size"] == 0.0);
  CHECK(f["mailbox_time_mean_us"].get<double>() >= min_wait_us * 5 / 7);
  CHECK(live_metrics::instance().actors_json()["processed_messages"].get<std::uint64_t>() >= processed_before + 6);
  self->send_exit(a, caf::exit_reason::user_shutdown);
}

TEST_CASE("instrumented actor: a message to a terminated actor counts as rejected; shared names add up") {
  live_metrics::instance().enable(true);
  caf::actor_system_config cfg;
  caf::actor_system sys{quiet(cfg)};
  caf::scoped_actor self{sys};
  std::promise<void> never;
  auto gate = never.get_future().share();
  auto a = sys.spawn(counter, std::string{"test-shared"}, gate);
  auto b = sys.spawn(counter, std::string{"test-shared"}, gate);
  for (int i = 0; i < 3; ++i) {
    self->send(a, i);
    self->send(b, i);
  }
  for (const auto& x : {a, b})
    self->request(x, caf::infinite, count_atom::value).receive([](int n) { CHECK(n == 3); }, [](caf::error&) {});
  CHECK(tandem::test::wait_until([] { return figures_of("test-shared")["processed"] == 8; }, 5s));
  CHECK(figures_of("test-shared")["mailbox_size"] == 0.0);

  auto rejected_before = figures_of("test-shared")["rejected"].get<std::uint64_t>();
  self->monitor(a);
  self->send_exit(a, caf::exit_reason::user_shutdown);
  self->receive([](caf::down_msg&) {});
  self->send(a, 42); // `a` is still a valid handle: the message reaches a terminated actor
  CHECK(tandem::test::wait_until(
    [&] { return figures_of("test-shared")["rejected"].get<std::uint64_t>() == rejected_before + 1; }, 5s));
  CHECK(figures_of("test-shared")["mailbox_size"] == 0.0);
  self->send_exit(b, caf::exit_reason::user_shutdown);
}
