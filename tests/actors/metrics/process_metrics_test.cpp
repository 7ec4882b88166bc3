#include "actors/metrics/process_metrics.hpp"

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "actors/metrics/registry.hpp"

using namespace tandem::metrics;

TEST_CASE("parse_resident_memory_bytes reads VmRSS in kB") {
  const std::string status = "Name:\ttandemd\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t3\n";
  CHECK(parse_resident_memory_bytes(status) == 1234.0 * 1024);
  CHECK_FALSE(parse_resident_memory_bytes("Name:\tx\n"));
  CHECK_FALSE(parse_resident_memory_bytes("VmRSS:\tlots\n"));
}

TEST_CASE("parse_stat_times counts fields after the last ')' of the command name") {
  // Command name with a space and a ')' inside; utime=250, stime=50, starttime=1000 ticks.
  const std::string stat =
      "4242 (tan dem) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1000 "
      "12345678 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto t = parse_stat_times(stat, 100);
  REQUIRE(t);
  CHECK(t->cpu_seconds == 3.0);
  CHECK(t->start_seconds_after_boot == 10.0);
  CHECK_FALSE(parse_stat_times("4242 (short) S 1 2 3", 100));
  CHECK_FALSE(parse_stat_times("no parenthesis", 100));
}

TEST_CASE("parse_boot_time_seconds reads btime") {
  CHECK(parse_boot_time_seconds("cpu  1 2 3\nintr 5\nbtime 1700000000\nprocesses 9\n") ==
        1700000000.0);
  CHECK_FALSE(parse_boot_time_seconds("cpu 1 2 3\n"));
}

TEST_CASE("process figures of the running test are plausible") {
  const auto rss = read_resident_memory_bytes();
  REQUIRE(rss);
  CHECK(*rss > 1024 * 1024);        // more than 1 MiB
  CHECK(*rss < 64.0 * 1024 * 1024 * 1024);

  const auto fds = read_open_fds();
  REQUIRE(fds);
  CHECK(*fds >= 3); // at least stdin, stdout, stderr (ctest provides them)
  std::vector<int> opened;
  for (int i = 0; i < 5; ++i) opened.push_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  CHECK(read_open_fds() == *fds + 5);
  for (int fd : opened) ::close(fd);
  CHECK(read_open_fds() == *fds);

  // Burn a little CPU so the counter is visibly above zero.
  const auto cpu_before = read_cpu_seconds_total();
  REQUIRE(cpu_before);
  volatile double sink = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  while (std::chrono::steady_clock::now() < until) sink = sink + 1;
  const auto cpu_after = read_cpu_seconds_total();
  REQUIRE(cpu_after);
  CHECK(*cpu_after >= *cpu_before);
  CHECK(*cpu_after > 0);

  const auto start = read_start_time_seconds();
  REQUIRE(start);
  const double now = static_cast<double>(std::time(nullptr));
  CHECK(*start <= now + 1);
  CHECK(*start > now - 24 * 3600); // the test started within the last day
}

TEST_CASE("add_process_metrics exposes the four standard process families") {
  registry reg;
  REQUIRE_FALSE(add_process_metrics(reg));
  REQUIRE_FALSE(add_process_metrics(reg)); // twice is harmless
  const std::string text = reg.expose();
  for (const char* line : {"# TYPE process_cpu_seconds_total counter\n",
                           "# TYPE process_open_fds gauge\n",
                           "# TYPE process_resident_memory_bytes gauge\n",
                           "# TYPE process_start_time_seconds gauge\n"}) {
    CAPTURE(line);
    CHECK(text.find(line) != std::string::npos);
  }
  const auto j = reg.to_json();
  CHECK(j["process_resident_memory_bytes"]["samples"][0]["value"].get<double>() > 0);
  CHECK(j["process_start_time_seconds"]["samples"][0]["value"].get<double>() > 1e9);
  CHECK(text.find("process_open_fds 0\n") == std::string::npos);
}
