// Figures observed where they happen rather than mirrored from /status: the per-actor and
// system figures CAF >= 0.18 would provide (0.17 has no telemetry), and latency histograms
// (fsync, persisted ack). Plain C++, no CAF: actors/instrumented_actor.hpp feeds the actor
// figures from inside CAF's enqueue and consume; the journal runtime and the client listener
// observe the latencies.
//
// One instance per process (live_metrics::instance()): tandemd runs one node per process, and
// the actor hooks cannot be handed a pointer before the actor's behavior runs. enable() is
// called once at startup, before any actor is spawned; while disabled (the default, so unit
// tests and tools that never call it pay nothing) probe() returns nullptr and every hook is a
// null check.
//
// Names follow CAF >= 0.18 so dashboards built for it carry over:
//   caf_system_processed_messages_total, caf_system_rejected_messages_total,
//   caf_system_queued_messages, and per actor (label "name"): caf_actor_mailbox_size,
//   caf_actor_processing_time_seconds, caf_actor_mailbox_time_seconds.
// A name is the actor's role ("journal", "link-B"); actors that come and go share one name
// ("replication-connections", "subscriptions"), so label cardinality is bounded by the config.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "actors/metrics/registry.hpp"

namespace tandem::metrics {

// The figures of one actor name. Every member is a child of the live registry, so a probe lives
// as long as the process; actors keep a raw pointer.
struct actor_probe {
  // Hot path: one relaxed add on this actor's own counters per event, and the two histograms.
  // The gauges and system totals are computed from these at exposition (no shared counter that
  // every actor's every message would contend on).
  histogram* processing_time = nullptr;
  histogram* mailbox_time = nullptr;
  std::atomic<std::int64_t> in_mailbox{0};
  std::atomic<std::uint64_t> rejected{0};

  // A message entered the mailbox.
  void on_enqueued() noexcept { in_mailbox.fetch_add(1, std::memory_order_relaxed); }
  // A message that on_enqueued counted left the mailbox (to be handled, or discarded).
  void on_dequeued() noexcept { in_mailbox.fetch_sub(1, std::memory_order_relaxed); }
  // A message was handled. waited: time it spent in the mailbox, negative when unknown (I/O
  // events of brokers do not pass through the mailbox).
  void on_processed(std::chrono::nanoseconds took, std::chrono::nanoseconds waited) noexcept;
  // A message sent to an actor that had already terminated.
  void on_rejected() noexcept { rejected.fetch_add(1, std::memory_order_relaxed); }
};

class live_metrics {
public:
  static live_metrics& instance();

  live_metrics();
  live_metrics(const live_metrics&) = delete;
  live_metrics& operator=(const live_metrics&) = delete;

  void enable(bool on) noexcept { enabled_.store(on, std::memory_order_relaxed); }
  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }

  // The probe for actors called `name`; nullptr while disabled. Thread-safe; the same name gives
  // the same probe.
  actor_probe* probe(std::string_view name);

  // Latencies: each a no-op while disabled.
  void observe_fsync(std::chrono::nanoseconds d) noexcept;
  void observe_persisted_ack(std::chrono::nanoseconds d) noexcept;

  // Text format 0.0.4 of every live family (empty families print HELP/TYPE only).
  std::string expose() const { return registry_.expose(); }
  // Per actor name, for /status: [{"name", "mailbox_size", "processed", "rejected",
  // "processing_mean_us", "mailbox_time_mean_us"}] sorted by name, plus system totals.
  nlohmann::json actors_json() const;
  // {"fsync": {...}, "persisted_ack": {...}}: count, mean_us, and p50/p99 estimated from the
  // buckets (upper bound of the bucket holding the quantile).
  nlohmann::json latencies_json() const;

  registry& metrics_registry() noexcept { return registry_; }

private:
  void collect_actor_figures(); // sets the gauges and totals from the probes

  std::atomic<bool> enabled_{false};
  registry registry_;
  gauge_family* mailbox_size_ = nullptr;
  histogram_family* processing_time_ = nullptr;
  histogram_family* mailbox_time_ = nullptr;
  counter* processed_ = nullptr;
  counter* rejected_ = nullptr;
  gauge* queued_ = nullptr;
  histogram* fsync_ = nullptr;
  histogram* persisted_ack_ = nullptr;
  mutable std::mutex mu_; // guards probes_
  std::map<std::string, std::unique_ptr<actor_probe>, std::less<>> probes_;
};

// Estimated q-quantile (0 < q <= 1) of a histogram: the upper bound of the first bucket whose
// cumulative count reaches q * count; +Inf when it lies in the last bucket, 0 when empty.
double bucket_quantile(const histogram::snapshot& s, std::span<const double> upper_bounds, double q);

} // namespace tandem::metrics
