#include "actors/metrics/live_metrics.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace tandem::metrics {

namespace {

template <class T>
T* must(result<T*> r) {
  if (!r)
    throw std::logic_error("live metrics: " + r.error().message);
  return r.value();
}

double seconds(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// 1 us .. ~1 s in steps of 4: message handling and mailbox waits span microseconds to seconds.
std::vector<double> actor_buckets() { return exponential_buckets(1e-6, 4, 11); }
// 50 us .. ~3.3 s in steps of 2: fdatasync and persisted acks on disks from NVMe to slow network storage.
std::vector<double> latency_buckets() { return exponential_buckets(50e-6, 2, 17); }

nlohmann::json latency_json(const histogram& h) {
  auto s = h.read();
  nlohmann::json j;
  j["count"] = s.count;
  j["mean_us"] = s.count == 0 ? 0.0 : s.sum / static_cast<double>(s.count) * 1e6;
  for (auto [key, q] : {std::pair{"p50_us_at_most", 0.5}, std::pair{"p99_us_at_most", 0.99}}) {
    double v = bucket_quantile(s, h.upper_bounds(), q);
    if (std::isinf(v))
      j[key] = "+Inf";
    else
      j[key] = v * 1e6;
  }
  return j;
}

} // namespace

void actor_probe::on_processed(std::chrono::nanoseconds took, std::chrono::nanoseconds waited) noexcept {
  processing_time->observe(seconds(took));
  if (waited.count() >= 0)
    mailbox_time->observe(seconds(waited));
}

live_metrics& live_metrics::instance() {
  static live_metrics m;
  return m;
}

live_metrics::live_metrics() {
  auto& r = registry_;
  const std::vector<std::string> name{"name"};
  mailbox_size_ = must(r.add_gauge("caf_actor_mailbox_size", "Messages in the actor's mailbox", name));
  processing_time_ = must(r.add_histogram("caf_actor_processing_time_seconds",
                                          "Time the actor took to handle a message", actor_buckets(), name));
  mailbox_time_ = must(r.add_histogram("caf_actor_mailbox_time_seconds",
                                       "Time a message waited in the actor's mailbox", actor_buckets(), name));
  processed_ = &must(r.add_counter("caf_system_processed_messages_total", "Messages processed by all actors"))->get();
  rejected_ = &must(r.add_counter("caf_system_rejected_messages_total",
                                  "Messages no handler accepted, or sent to an actor that had terminated"))
                 ->get();
  queued_ = &must(r.add_gauge("caf_system_queued_messages", "Messages waiting in all mailboxes"))->get();
  fsync_ = &must(r.add_histogram("tandem_journal_fsync_seconds",
                                 "Journal commit latency: write of a group of batches plus its fdatasync",
                                 latency_buckets()))
              ->get();
  persisted_ack_ = &must(r.add_histogram("tandem_client_persisted_ack_seconds",
                                         "Publish received to persisted ack sent (includes sync destinations)",
                                         latency_buckets()))
                      ->get();
  mailbox_size_->on_collect([this](gauge_family&) { collect_actor_figures(); });
}

void live_metrics::collect_actor_figures() {
  std::lock_guard<std::mutex> guard{mu_};
  std::uint64_t processed = 0, rejected = 0;
  std::int64_t queued = 0;
  for (const auto& [name, p] : probes_) {
    auto n = p->in_mailbox.load(std::memory_order_relaxed);
    mailbox_size_->labels({name}).set(static_cast<double>(n));
    queued += n;
    processed += p->processing_time->read().count;
    rejected += p->rejected.load(std::memory_order_relaxed);
  }
  queued_->set(static_cast<double>(queued));
  processed_->set_total(processed);
  rejected_->set_total(rejected);
}

actor_probe* live_metrics::probe(std::string_view name) {
  if (!enabled())
    return nullptr;
  std::lock_guard<std::mutex> guard{mu_};
  if (auto it = probes_.find(name); it != probes_.end())
    return it->second.get();
  auto p = std::make_unique<actor_probe>();
  mailbox_size_->labels({name}).set(0);
  p->processing_time = &processing_time_->labels({name});
  p->mailbox_time = &mailbox_time_->labels({name});
  return probes_.emplace(std::string{name}, std::move(p)).first->second.get();
}

void live_metrics::observe_fsync(std::chrono::nanoseconds d) noexcept {
  if (enabled())
    fsync_->observe(seconds(d));
}

void live_metrics::observe_persisted_ack(std::chrono::nanoseconds d) noexcept {
  if (enabled())
    persisted_ack_->observe(seconds(d));
}

nlohmann::json live_metrics::actors_json() const {
  auto list = nlohmann::json::array();
  std::uint64_t processed = 0, rejected = 0;
  std::int64_t queued = 0;
  std::lock_guard<std::mutex> guard{mu_};
  for (const auto& [name, p] : probes_) {
    auto work = p->processing_time->read();
    auto wait = p->mailbox_time->read();
    auto mean_us = [](const histogram::snapshot& s) {
      return s.count == 0 ? 0.0 : s.sum / static_cast<double>(s.count) * 1e6;
    };
    auto in_mailbox = p->in_mailbox.load(std::memory_order_relaxed);
    auto rejected_here = p->rejected.load(std::memory_order_relaxed);
    processed += work.count;
    rejected += rejected_here;
    queued += in_mailbox;
    list.push_back({{"name", name},
                    {"mailbox_size", in_mailbox},
                    {"processed", work.count},
                    {"rejected", rejected_here},
                    {"processing_mean_us", mean_us(work)},
                    {"mailbox_time_mean_us", mean_us(wait)}});
  }
  return {{"processed_messages", processed},
          {"rejected_messages", rejected},
          {"queued_messages", queued},
          {"by_name", std::move(list)}};
}

nlohmann::json live_metrics::latencies_json() const {
  return {{"fsync", latency_json(*fsync_)}, {"persisted_ack", latency_json(*persisted_ack_)}};
}

double bucket_quantile(const histogram::snapshot& s, std::span<const double> upper_bounds, double q) {
  if (s.count == 0)
    return 0;
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(s.count)));
  if (rank == 0)
    rank = 1;
  for (std::size_t i = 0; i < upper_bounds.size() && i < s.cumulative.size(); ++i)
    if (s.cumulative[i] >= rank)
      return upper_bounds[i];
  return std::numeric_limits<double>::infinity();
}

} // namespace tandem::metrics
