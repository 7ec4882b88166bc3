#include "actors/metrics/registry.hpp"

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

using namespace tandem::metrics;

TEST_CASE("exposition of a small registry matches the text format exactly") {
  registry reg;
  auto sent = reg.add_counter("tandem_records_sent_total",
                              "Records sent.\nPer destination \\ group.", {"destination"});
  REQUIRE(sent);
  sent.value()->labels({"b"}).inc(2);
  sent.value()->labels({"a \"quoted\"\\\n"}).inc(1);
  auto queue = reg.add_gauge("tandem_queue_depth", "Records waiting.");
  REQUIRE(queue);
  queue.value()->get().set(-1.5);
  auto latency = reg.add_histogram("tandem_ack_seconds", "Ack latency.", {0.01, 0.1, 1},
                                   {"peer", "kind"});
  REQUIRE(latency);
  auto& h = latency.value()->labels({"n2", "durable"});
  h.observe(0.0078125); // binary fractions, so the sum is exact
  h.observe(0.0625);
  h.observe(3);
  auto cpu = reg.add_counter("tandem_cpu_seconds_total", "CPU.");
  REQUIRE(cpu);
  cpu.value()->get().add(0.25);
  auto empty = reg.add_histogram("tandem_empty_seconds", "", {});
  REQUIRE(empty);

  const std::string expected =
      "# HELP tandem_ack_seconds Ack latency.\n"
      "# TYPE tandem_ack_seconds histogram\n"
      "tandem_ack_seconds_bucket{peer=\"n2\",kind=\"durable\",le=\"0.01\"} 1\n"
      "tandem_ack_seconds_bucket{peer=\"n2\",kind=\"durable\",le=\"0.1\"} 2\n"
      "tandem_ack_seconds_bucket{peer=\"n2\",kind=\"durable\",le=\"1\"} 2\n"
      "tandem_ack_seconds_bucket{peer=\"n2\",kind=\"durable\",le=\"+Inf\"} 3\n"
      "tandem_ack_seconds_sum{peer=\"n2\",kind=\"durable\"} 3.0703125\n"
      "tandem_ack_seconds_count{peer=\"n2\",kind=\"durable\"} 3\n"
      "# HELP tandem_cpu_seconds_total CPU.\n"
      "# TYPE tandem_cpu_seconds_total counter\n"
      "tandem_cpu_seconds_total 0.25\n"
      "# HELP tandem_empty_seconds\n"
      "# TYPE tandem_empty_seconds histogram\n"
      "tandem_empty_seconds_bucket{le=\"+Inf\"} 0\n"
      "tandem_empty_seconds_sum 0\n"
      "tandem_empty_seconds_count 0\n"
      "# HELP tandem_queue_depth Records waiting.\n"
      "# TYPE tandem_queue_depth gauge\n"
      "tandem_queue_depth -1.5\n"
      "# HELP tandem_records_sent_total Records sent.\\nPer destination \\\\ group.\n"
      "# TYPE tandem_records_sent_total counter\n"
      "tandem_records_sent_total{destination=\"a \\\"quoted\\\"\\\\\\n\"} 1\n"
      "tandem_records_sent_total{destination=\"b\"} 2\n";
  CHECK(reg.expose() == expected);
}

TEST_CASE("an empty registry exposes nothing") {
  registry reg;
  CHECK(reg.expose().empty());
  CHECK(reg.to_json() == nlohmann::json::object());
}

TEST_CASE("a labelled family without children exposes only HELP and TYPE") {
  registry reg;
  REQUIRE(reg.add_gauge("g", "h", {"x"}));
  CHECK(reg.expose() == "# HELP g h\n# TYPE g gauge\n");
}

TEST_CASE("label handles are stable and shared by equal label values") {
  registry reg;
  auto fam = reg.add_counter("c_total", "h", {"a", "b"}).value();
  counter& first = fam->labels({"x", "y"});
  const std::vector<std::string> values{"x", "y"};
  counter& again = fam->labels(values);
  CHECK(&first == &again);
  CHECK(&fam->labels({"y", "x"}) != &first);
  for (int i = 0; i < 100; ++i) fam->labels({std::to_string(i), "z"}); // grows the map
  CHECK(&fam->labels({"x", "y"}) == &first);
  CHECK(fam->size() == 102);
}

TEST_CASE("invalid metric names are rejected at registration") {
  registry reg;
  for (const char* bad : {"", "1st", "a-b", "a b", "a.b"}) {
    CAPTURE(bad);
    auto r = reg.add_counter(bad, "h");
    REQUIRE_FALSE(r);
    CHECK(r.code() == errc::invalid_metric_name);
  }
  CHECK(reg.add_gauge("ns:sub_name", "h"));
}

TEST_CASE("invalid, reserved and duplicate label names are rejected at registration") {
  registry reg;
  auto bad = reg.add_gauge("g", "h", {"ok", "not:ok"});
  REQUIRE_FALSE(bad);
  CHECK(bad.code() == errc::invalid_label_name);
  CHECK(bad.error().message.find("not:ok") != std::string::npos);
  CHECK(reg.add_gauge("g", "h", {"__reserved"}).code() == errc::invalid_label_name);
  CHECK(reg.add_gauge("g", "h", {"a", "a"}).code() == errc::duplicate_label_name);
  CHECK(reg.add_histogram("h_seconds", "h", {1}, {"le"}).code() == errc::reserved_label_name);
  CHECK(reg.add_gauge("le_is_fine_here", "h", {"le"}));
  CHECK(make_error_code(errc::duplicate_label_name).message() == "duplicate label name");
}

TEST_CASE("histogram bounds must be strictly increasing and not NaN, a trailing +Inf is implied") {
  registry reg;
  CHECK(reg.add_histogram("h1", "h", {1, 1}).code() == errc::invalid_buckets);
  CHECK(reg.add_histogram("h2", "h", {2, 1}).code() == errc::invalid_buckets);
  CHECK(reg.add_histogram("h3", "h", {std::nan("")}).code() == errc::invalid_buckets);
  auto ok = reg.add_histogram("h4", "h", {1, INFINITY});
  REQUIRE(ok);
  CHECK(ok.value()->upper_bounds().size() == 1);
  CHECK(default_buckets().size() == 11);
  CHECK(exponential_buckets(1, 2, 4) == std::vector<double>{1, 2, 4, 8});
}

TEST_CASE("re-registering an identical family returns it, a different one is refused") {
  registry reg;
  auto a = reg.add_counter("c_total", "h", {"x"});
  auto b = reg.add_counter("c_total", "h", {"x"});
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a.value() == b.value());
  CHECK(reg.add_counter("c_total", "h", {"y"}).code() == errc::already_registered);
  CHECK(reg.add_counter("c_total", "other help", {"x"}).code() == errc::already_registered);
  CHECK(reg.add_gauge("c_total", "h", {"x"}).code() == errc::already_registered);
}

TEST_CASE("a histogram's _bucket, _sum and _count names are taken") {
  registry reg;
  REQUIRE(reg.add_histogram("lat_seconds", "h", {1}));
  auto clash = reg.add_gauge("lat_seconds_count", "h");
  REQUIRE_FALSE(clash);
  CHECK(clash.code() == errc::already_registered);
  CHECK(clash.error().message.find("lat_seconds") != std::string::npos);
  REQUIRE(reg.add_counter("x_sum", "h"));
  CHECK(reg.add_histogram("x", "h", {1}).code() == errc::already_registered);
}

TEST_CASE("a family refuses label tuples beyond its maximum and counts the refusals") {
  registry reg;
  auto fam = reg.add_counter("requests_total", "h", {"peer"}, {.max_children = 3}).value();
  for (const char* p : {"a", "b", "c"}) fam->labels({p}).inc();
  counter& refused = fam->labels({"d"});
  refused.inc(100); // accepted by the detached child, never exposed
  fam->labels({"e"}).inc();
  fam->labels({"a"}).inc(); // existing tuples still work
  CHECK(fam->size() == 3);
  CHECK(fam->refused() == 2);
  CHECK(fam->labels({"a"}).whole() == 2);
  const std::string text = reg.expose();
  CHECK(text.find("peer=\"d\"") == std::string::npos);
  CHECK(text.find("peer=\"e\"") == std::string::npos);
  CHECK(reg.to_json()["requests_total"]["refused"] == 2);
}

TEST_CASE("the default cardinality bound is 1000") {
  registry reg;
  auto fam = reg.add_gauge("g", "h", {"id"}).value();
  CHECK(fam->max_children() == default_max_children);
  for (int i = 0; i < 1100; ++i) fam->labels({std::to_string(i)}).set(i);
  CHECK(fam->size() == 1000);
  CHECK(fam->refused() == 100);
}

TEST_CASE("collect callbacks run at each exposition and set values") {
  registry reg;
  auto fam = reg.add_gauge("owned_elsewhere", "h", {"queue"}).value();
  int calls = 0;
  fam->on_collect([&calls](gauge_family& f) {
    ++calls;
    f.labels({"in"}).set(calls * 10);
  });
  CHECK(reg.expose().find("owned_elsewhere{queue=\"in\"} 10\n") != std::string::npos);
  CHECK(reg.to_json()["owned_elsewhere"]["samples"][0]["value"] == 20);
  CHECK(calls == 2);
  fam->on_collect({});
  reg.expose();
  CHECK(calls == 2);
}

TEST_CASE("JSON snapshot carries the same data as the text") {
  registry reg;
  auto c = reg.add_counter("c_total", "counter help", {"k"}).value();
  c->labels({"v"}).inc(3);
  reg.add_gauge("g", "gauge help").value()->get().set(INFINITY);
  auto h = reg.add_histogram("h_seconds", "histogram help", {0.5, 1}).value();
  h->get().observe(0.25);
  h->get().observe(2);

  const auto j = reg.to_json();
  const auto expected = nlohmann::json::parse(R"({
    "c_total": {"help": "counter help", "type": "counter", "labels": ["k"],
                "max_children": 1000, "refused": 0,
                "samples": [{"labels": {"k": "v"}, "value": 3}]},
    "g": {"help": "gauge help", "type": "gauge", "labels": [], "max_children": 1000,
          "refused": 0, "samples": [{"labels": {}, "value": "+Inf"}]},
    "h_seconds": {"help": "histogram help", "type": "histogram", "labels": [],
                  "max_children": 1000, "refused": 0, "buckets": [0.5, 1],
                  "samples": [{"labels": {},
                               "buckets": [{"le": 0.5, "count": 1}, {"le": 1, "count": 1},
                                           {"le": "+Inf", "count": 2}],
                               "sum": 2.25, "count": 2}]}
  })");
  CHECK(j == expected);
  // Integers stay integers in the dump (3, not 3.0).
  CHECK(j["c_total"]["samples"][0]["value"].dump() == "3");
}

TEST_CASE("registration, updates and exposition may run concurrently") {
  registry reg;
  auto fam = reg.add_counter("events_total", "h", {"worker"}).value();
  std::vector<std::thread> workers;
  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      counter& mine = fam->labels({std::to_string(t)});
      for (int i = 0; i < per_thread; ++i) {
        mine.inc();
        fam->labels({"shared"}).inc();
        if (i % 1000 == 0) {
          (void)reg.add_gauge("g" + std::to_string(t) + "_" + std::to_string(i), "h");
          (void)reg.expose();
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  CHECK(fam->labels({"shared"}).whole() == threads * per_thread);
  for (int t = 0; t < threads; ++t) CHECK(fam->labels({std::to_string(t)}).whole() == per_thread);
  CHECK(reg.expose().find("events_total{worker=\"shared\"} 20000\n") != std::string::npos);
}

TEST_CASE("remove_series drops the selected children of every family; an unlabelled family keeps its child") {
  registry r;
  auto* sent = r.add_counter("t_sent_total", "sent", {"destination", "group"}).value();
  auto* held = r.add_gauge("t_held", "held", {"destination"}).value();
  auto* plain = r.add_gauge("t_plain", "plain").value();
  sent->labels({"B", "B"}).inc(2);
  sent->labels({"G", "G"}).inc(3);
  held->labels({"G"}).set(1);
  plain->get().set(5);
  const auto removed = r.remove_series([](const family_base& f, const std::vector<std::string>& values) {
    return !f.label_names().empty() && values[0] == "G";
  });
  CHECK(removed == 2);
  CHECK(sent->size() == 1);
  CHECK(held->size() == 0);
  const auto text = r.expose();
  CHECK(text.find("t_sent_total{destination=\"G\"") == std::string::npos);
  CHECK(text.find("t_sent_total{destination=\"B\",group=\"B\"} 2") != std::string::npos);
  CHECK(text.find("t_plain 5") != std::string::npos);
  CHECK(r.remove_series([](const family_base&, const std::vector<std::string>&) { return true; }) == 1);
  CHECK(plain->size() == 1); // the one child of a family without labels is never removed
  sent->labels({"G", "G"}).inc(); // a destination added again starts from 0
  CHECK(r.expose().find("t_sent_total{destination=\"G\",group=\"G\"} 1") != std::string::npos);
}
