// live_metrics: per-actor probes, system totals, latency histograms, the on/off switch.
#include <doctest/doctest.h>

#include <cmath>

#include "actors/metrics/live_metrics.hpp"

using namespace std::chrono_literals;
using tandem::metrics::live_metrics;

TEST_CASE("live_metrics: disabled, probes are null and latencies are not recorded") {
  live_metrics m;
  CHECK_FALSE(m.enabled());
  CHECK(m.probe("journal") == nullptr);
  m.observe_fsync(1ms);
  CHECK(m.latencies_json()["fsync"]["count"] == 0);
}

TEST_CASE("live_metrics: one probe per name; enqueue/dequeue move the mailbox gauges") {
  live_metrics m;
  m.enable(true);
  auto* link = m.probe("link-B");
  REQUIRE(link != nullptr);
  CHECK(m.probe("link-B") == link);
  auto* journal = m.probe("journal");
  CHECK(journal != link);
  link->on_enqueued();
  link->on_enqueued();
  journal->on_enqueued();
  link->on_dequeued();
  link->on_processed(3us, 10us);
  journal->on_processed(5us, std::chrono::nanoseconds{-1}); // broker I/O event: no mailbox time
  journal->on_rejected();
  auto j = m.actors_json();
  CHECK(j["queued_messages"] == 2.0);
  CHECK(j["processed_messages"] == 2);
  CHECK(j["rejected_messages"] == 1);
  REQUIRE(j["by_name"].size() == 2);
  CHECK(j["by_name"][0]["name"] == "journal"); // sorted by name
  CHECK(j["by_name"][0]["mailbox_size"] == 1.0);
  CHECK(j["by_name"][0]["rejected"] == 1);
  CHECK(j["by_name"][0]["mailbox_time_mean_us"] == 0.0);
  CHECK(j["by_name"][1]["name"] == "link-B");
  CHECK(j["by_name"][1]["mailbox_size"] == 1.0);
  CHECK(j["by_name"][1]["processed"] == 1);
  CHECK(j["by_name"][1]["processing_mean_us"].get<double>() == doctest::Approx(3.0));
  CHECK(j["by_name"][1]["mailbox_time_mean_us"].get<double>() == doctest::Approx(10.0));

  auto text = m.expose();
  CHECK(text.find("caf_actor_mailbox_size{name=\"link-B\"} 1\n") != std::string::npos);
  CHECK(text.find("caf_system_queued_messages 2\n") != std::string::npos);
  CHECK(text.find("caf_system_processed_messages_total 2\n") != std::string::npos);
  CHECK(text.find("caf_system_rejected_messages_total 1\n") != std::string::npos);
  CHECK(text.find("caf_actor_processing_time_seconds_bucket{name=\"link-B\",le=\"4e-06\"} 1\n") != std::string::npos);
  CHECK(text.find("caf_actor_mailbox_time_seconds_count{name=\"journal\"} 0\n") != std::string::npos);
  CHECK(text.find("# TYPE caf_actor_processing_time_seconds histogram\n") != std::string::npos);
}

TEST_CASE("live_metrics: fsync and persisted-ack latencies with bucket quantiles") {
  live_metrics m;
  m.enable(true);
  for (int i = 0; i < 98; ++i)
    m.observe_fsync(300us);
  m.observe_fsync(5ms);
  m.observe_fsync(5ms);
  m.observe_persisted_ack(1ms);
  auto j = m.latencies_json();
  CHECK(j["fsync"]["count"] == 100);
  CHECK(j["fsync"]["mean_us"].get<double>() == doctest::Approx((98 * 300.0 + 2 * 5000.0) / 100));
  CHECK(j["fsync"]["p50_us_at_most"].get<double>() == doctest::Approx(400.0)); // bucket 200..400 us
  CHECK(j["fsync"]["p99_us_at_most"].get<double>() == doctest::Approx(6400.0));
  CHECK(j["persisted_ack"]["count"] == 1);
  auto text = m.expose();
  CHECK(text.find("tandem_journal_fsync_seconds_count 100\n") != std::string::npos);
  CHECK(text.find("tandem_client_persisted_ack_seconds_bucket{le=\"+Inf\"} 1\n") != std::string::npos);
}

TEST_CASE("bucket_quantile: empty, inside, and beyond the last bound") {
  std::vector<double> bounds{1, 2, 4};
  tandem::metrics::histogram h{bounds};
  CHECK(tandem::metrics::bucket_quantile(h.read(), bounds, 0.5) == 0);
  h.observe(0.5);
  h.observe(3);
  h.observe(100);
  CHECK(tandem::metrics::bucket_quantile(h.read(), bounds, 0.3) == 1);
  CHECK(tandem::metrics::bucket_quantile(h.read(), bounds, 0.6) == 4);
  CHECK(std::isinf(tandem::metrics::bucket_quantile(h.read(), bounds, 1.0)));
}
