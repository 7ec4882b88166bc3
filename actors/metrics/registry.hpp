// A registry of metric families with Prometheus text exposition (format 0.0.4) and a JSON
// snapshot of the same data for the /status endpoint. Plain C++, no CAF; thread-safe.
//
// Usage: register a family once (at startup), keep the child handles, update them anywhere:
//   auto sent = reg.add_counter("tandem_records_sent_total", "Records sent", {"destination"});
//   counter& to_b = sent.value()->labels({"b"});   // keep this
//   to_b.inc();                                    // hot path: one relaxed atomic add
//
// Registration validates names and reports failures as values. Registering the same name again
// with the same type, help, label names (and buckets) returns the existing family, so two
// components may share one. A name is also taken by the samples a histogram writes:
// histogram "x" takes x_bucket, x_sum and x_count.
//
// Families and children live as long as the registry; pointers and references to them stay
// valid until it is destroyed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp> // to_json() returns a json value

#include "actors/metrics/errc.hpp"
#include "actors/metrics/family.hpp"
#include "actors/metrics/instruments.hpp"
#include "actors/metrics/result.hpp"

namespace tandem::metrics {

// Prometheus' default latency buckets, in seconds.
std::vector<double> default_buckets();
// count bounds: start, start*factor, ... Preconditions: start > 0, factor > 1, count >= 1.
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

class registry {
public:
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;
  ~registry();

  // The returned pointer is never null and lives as long as the registry.
  result<counter_family*> add_counter(std::string_view name, std::string_view help,
                                      std::vector<std::string> label_names = {},
                                      family_options options = {});
  result<gauge_family*> add_gauge(std::string_view name, std::string_view help,
                                  std::vector<std::string> label_names = {},
                                  family_options options = {});
  // upper_bounds: strictly increasing, no NaN; a trailing +Inf is implied (and dropped if
  // given). Label name "le" is reserved.
  result<histogram_family*> add_histogram(std::string_view name, std::string_view help,
                                          std::vector<double> upper_bounds,
                                          std::vector<std::string> label_names = {},
                                          family_options options = {});

  // Runs every collect callback, then renders all families sorted by name, children sorted by
  // label values. Content type: "text/plain; version=0.0.4; charset=utf-8".
  std::string expose() const;

  // The same data as expose(), keyed by family name:
  //   {"<name>": {"help", "type", "labels": [names], "max_children", "refused",
  //               ["buckets": [bounds]], "samples": [{"labels": {name: value},
  //               "value" | "buckets": [{"le", "count"}], "sum", "count"}]}}
  // Infinities and NaN are the strings "+Inf", "-Inf", "NaN" (JSON has no such numbers).
  nlohmann::json to_json() const;

  // family_base::remove_children over every family: `doomed` sees the family (its label names)
  // and one child's label values. Returns the children removed.
  std::size_t remove_series(const std::function<bool(const family_base&, const std::vector<std::string>&)>& doomed);

private:
  template <class Child>
  result<family<Child>*> add(metric_type type, std::string_view name, std::string_view help,
                             std::vector<std::string> label_names,
                             std::vector<double> upper_bounds, family_options options);
  void collect_all() const;

  // Held for registration and for a whole exposition, so collect callbacks of concurrent
  // expositions never run at the same time.
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<family_base>, std::less<>> families_;
  // Every sample name a family writes (histogram "x": x, x_bucket, x_sum, x_count) -> family.
  std::map<std::string, const family_base*, std::less<>> taken_names_;
};

} // namespace tandem::metrics
