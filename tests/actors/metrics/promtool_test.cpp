// Checks the exposition against Prometheus' own parser and linter: `promtool check metrics`
// (Debian package "prometheus"). Not skipped when promtool is missing: a green run must mean
// the check ran.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "actors/metrics/process_metrics.hpp"
#include "actors/metrics/registry.hpp"

using namespace tandem::metrics;

namespace {

bool promtool_on_path() {
  return std::system("command -v promtool >/dev/null 2>&1") == 0;
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

} // namespace

TEST_CASE("promtool check metrics accepts an exposition with every kind of metric") {
  REQUIRE_MESSAGE(promtool_on_path(),
                  "promtool not found on PATH: install it with "
                  "`apt-get install -y --no-install-recommends prometheus` (Debian package "
                  "'prometheus' ships /usr/bin/promtool)");

  registry reg;
  REQUIRE_FALSE(add_process_metrics(reg));
  auto sent = reg.add_counter("tandem_records_sent_total", "Records sent.\nPer \\ destination.",
                              {"destination", "topic"}).value();
  sent->labels({"b", "orders"}).inc(7);
  sent->labels({"a \"quoted\" \\ name\nwith newline", "t"}).inc();
  reg.add_counter("tandem_cpu_spent_seconds_total", "Fractional counter.").value()->get().add(0.5);
  auto depth = reg.add_gauge("tandem_queue_depth_records", "Records waiting.", {"queue"}).value();
  depth->labels({"in"}).set(3);
  depth->labels({"out"}).set(-2.5);
  reg.add_gauge("tandem_ratio", "Special values.", {"kind"}).value()->labels({"inf"}).set(INFINITY);
  reg.add_gauge("tandem_ratio", "Special values.", {"kind"}).value()->labels({"nan"}).set(NAN);
  auto lat = reg.add_histogram("tandem_ack_latency_seconds", "Ack latency.", default_buckets(),
                               {"peer"}).value();
  for (double v : {0.001, 0.02, 0.3, 4.0, 60.0}) lat->labels({"n2"}).observe(v);
  lat->labels({"n3"});
  reg.add_histogram("tandem_batch_size_bytes", "Unlabelled histogram.",
                    exponential_buckets(64, 4, 6)).value()->get().observe(1000);

  const auto dir = std::filesystem::temp_directory_path();
  const auto input = dir / ("tandem_metrics_" + std::to_string(::getpid()) + ".prom");
  const auto output = dir / ("tandem_metrics_" + std::to_string(::getpid()) + ".out");
  {
    std::ofstream out(input, std::ios::binary);
    out << reg.expose();
  }
  const std::string cmd =
      "promtool check metrics < '" + input.string() + "' > '" + output.string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  const std::string report = slurp(output);
  INFO("exposition:\n" << slurp(input));
  INFO("promtool output:\n" << report);
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  std::filesystem::remove(input);
  std::filesystem::remove(output);
}
