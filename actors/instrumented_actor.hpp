// instrumented<Base>: a CAF 0.17 actor type (event-based, stateful, typed or broker) that feeds
// metrics::live_metrics from inside CAF's own message path, since 0.17 has no telemetry.
//
//   enqueue(): counts the message into the mailbox and remembers when it arrived;
//   consume(): times the handler, records how long the message waited, counts it processed
//              (or rejected when no handler took it) and out of the mailbox.
//
// Use it as the self type of a function-based actor, e.g.
//   caf::behavior link(instrumented<caf::stateful_actor<link_state>>* self, ...) {
//     self->bind_probe("link-" + dest);   // first thing: from here on messages are counted
// CAF spawns the derived type because the self pointer names it. Messages that arrive before
// bind_probe are not counted at all (neither in nor out), so the mailbox gauge stays exact.
// Broker I/O events (new data, new connection) never pass through the mailbox: they count as
// processed, with no mailbox time.
//
// The arrival times live in a map keyed by the mailbox element's address (the element does not
// move between enqueue and consume); it holds one entry per message in the mailbox. An element
// that is never consumed (the actor terminated first) is subtracted from the gauges when the
// actor is destroyed.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include <caf/all.hpp>

#include "actors/fatal_exit.hpp"
#include "actors/metrics/live_metrics.hpp"

namespace tandem {

template <class Base>
class instrumented : public Base {
public:
  template <class... Ts>
  explicit instrumented(caf::actor_config& cfg, Ts&&... xs) : Base(cfg, std::forward<Ts>(xs)...) {}

  ~instrumented() override {
    if (auto* p = bound(); p != nullptr)
      for (std::size_t i = 0; i < arrivals_.size(); ++i)
        p->on_dequeued();
  }

  // Call from the actor's own thread before it expects traffic. A no-op while metrics are off.
  // Also installs fail-fast: an exception escaping any handler of this actor logs
  // "fatal: actor NAME died: ..." and exits the process at once (actors/fatal_exit.hpp), so no
  // instrumented actor (links, cyclers, listeners, connections, subscriptions) can die silently
  // and leave a zombie node behind.
  void bind_probe(const std::string& name) {
    fail_fast_on_exception(this, name);
    probe_.store(metrics::live_metrics::instance().probe(name), std::memory_order_release);
  }

  using Base::enqueue;

  void enqueue(caf::mailbox_element_ptr ptr, caf::execution_unit* eu) override {
    if (metrics::actor_probe* p = bound(); p != nullptr && ptr) {
      if (this->getf(caf::abstract_actor::is_terminated_flag)) {
        p->on_rejected();
      } else {
        {
          std::lock_guard<std::mutex> guard{mu_};
          arrivals_.emplace(ptr.get(), clock::now());
        }
        p->on_enqueued();
      }
    }
    Base::enqueue(std::move(ptr), eu);
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    metrics::actor_probe* p = bound();
    if (p == nullptr)
      return Base::consume(x);
    auto start = clock::now();
    auto waited = std::chrono::nanoseconds{-1};
    bool counted = false;
    {
      std::lock_guard<std::mutex> guard{mu_};
      if (auto it = arrivals_.find(&x); it != arrivals_.end()) {
        waited = start - it->second;
        arrivals_.erase(it);
        counted = true;
      }
    }
    if (counted)
      p->on_dequeued(); // out of the mailbox while its handler runs
    auto result = Base::consume(x);
    if (result == caf::invoke_message_result::skipped) {
      // Stays in the mailbox (the current behavior does not take it yet): put it back as it was.
      if (counted) {
        {
          std::lock_guard<std::mutex> guard{mu_};
          arrivals_.emplace(&x, start - waited);
        }
        p->on_enqueued();
      }
      return result;
    }
    p->on_processed(clock::now() - start, waited);
    return result;
  }

private:
  using clock = std::chrono::steady_clock;

  metrics::actor_probe* bound() const noexcept { return probe_.load(std::memory_order_acquire); }

  std::atomic<metrics::actor_probe*> probe_{nullptr};
  std::mutex mu_; // guards arrivals_ (enqueue runs on the senders' threads)
  std::unordered_map<const caf::mailbox_element*, clock::time_point> arrivals_;
};

} // namespace tandem
