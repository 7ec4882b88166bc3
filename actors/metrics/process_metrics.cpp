#include "actors/metrics/process_metrics.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

#include "actors/metrics/registry.hpp"

namespace tandem::metrics {
namespace {

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::optional<double> parse_number(std::string_view text) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr == text.data()) return std::nullopt;
  return v;
}

// The value after "key" at the start of a line, up to the end of that line.
std::optional<std::string_view> line_value(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.starts_with(key)) {
      line.remove_prefix(key.size());
      const auto first = line.find_first_not_of(" \t");
      return first == std::string_view::npos ? std::string_view{} : line.substr(first);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

long ticks_per_second() { return ::sysconf(_SC_CLK_TCK); }

template <class Child>
void set_if(family<Child>& fam, std::optional<double> v) {
  if (!v) return;
  if constexpr (std::is_same_v<Child, counter>)
    fam.get().set_total(*v);
  else
    fam.get().set(*v);
}

} // namespace

std::optional<double> parse_resident_memory_bytes(std::string_view proc_status) {
  auto value = line_value(proc_status, "VmRSS:");
  if (!value) return std::nullopt;
  auto kib = parse_number(*value);
  if (!kib || !value->ends_with("kB")) return std::nullopt;
  return *kib * 1024;
}

std::optional<stat_times> parse_stat_times(std::string_view proc_pid_stat, long ticks) {
  const auto close = proc_pid_stat.rfind(')');
  if (close == std::string_view::npos || ticks <= 0) return std::nullopt;
  // Fields after the command name, from field 3 (state): utime is field 14, stime 15,
  // starttime 22, i.e. indexes 11, 12 and 19 here.
  std::vector<std::string_view> fields;
  std::string_view rest = proc_pid_stat.substr(close + 1);
  while (!rest.empty() && fields.size() < 20) {
    const auto start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const auto end = std::min(rest.find_first_of(" \n"), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  if (fields.size() < 20) return std::nullopt;
  auto utime = parse_number(fields[11]);
  auto stime = parse_number(fields[12]);
  auto start = parse_number(fields[19]);
  if (!utime || !stime || !start) return std::nullopt;
  const double hz = static_cast<double>(ticks);
  return stat_times{(*utime + *stime) / hz, *start / hz};
}

std::optional<double> parse_boot_time_seconds(std::string_view proc_stat) {
  auto value = line_value(proc_stat, "btime ");
  if (!value) return std::nullopt;
  return parse_number(*value);
}

std::optional<double> read_resident_memory_bytes() {
  auto text = read_file("/proc/self/status");
  return text ? parse_resident_memory_bytes(*text) : std::nullopt;
}

std::optional<double> read_open_fds() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (ec) return std::nullopt;
  // The iterator holds one descriptor open on the directory while listing it.
  double count = -1;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++count;
  }
  return count < 0 ? 0 : count;
}

std::optional<double> read_cpu_seconds_total() {
  auto text = read_file("/proc/self/stat");
  if (!text) return std::nullopt;
  auto times = parse_stat_times(*text, ticks_per_second());
  return times ? std::optional(times->cpu_seconds) : std::nullopt;
}

std::optional<double> read_start_time_seconds() {
  auto self = read_file("/proc/self/stat");
  auto system = read_file("/proc/stat");
  if (!self || !system) return std::nullopt;
  auto times = parse_stat_times(*self, ticks_per_second());
  auto boot = parse_boot_time_seconds(*system);
  if (!times || !boot) return std::nullopt;
  return *boot + times->start_seconds_after_boot;
}

std::optional<metrics_error> add_process_metrics(registry& reg) {
  auto rss = reg.add_gauge("process_resident_memory_bytes", "Resident memory size in bytes.");
  if (!rss) return rss.error();
  auto fds = reg.add_gauge("process_open_fds", "Number of open file descriptors.");
  if (!fds) return fds.error();
  auto cpu = reg.add_counter("process_cpu_seconds_total",
                             "Total user and system CPU time spent in seconds.");
  if (!cpu) return cpu.error();
  auto start = reg.add_gauge("process_start_time_seconds",
                             "Start time of the process since unix epoch in seconds.");
  if (!start) return start.error();

  rss.value()->on_collect([](gauge_family& f) { set_if(f, read_resident_memory_bytes()); });
  fds.value()->on_collect([](gauge_family& f) { set_if(f, read_open_fds()); });
  cpu.value()->on_collect([](counter_family& f) { set_if(f, read_cpu_seconds_total()); });
  // Constant for the process' life, but read at collect time like the others so a registry
  // created before /proc is mounted (containers) still gets it later.
  start.value()->on_collect([](gauge_family& f) { set_if(f, read_start_time_seconds()); });
  return std::nullopt;
}

} // namespace tandem::metrics
