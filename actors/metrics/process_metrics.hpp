// Figures about the current process, read from /proc at exposition time, under the names the
// Prometheus client libraries use, so standard dashboards work unchanged:
//   process_resident_memory_bytes  gauge    VmRSS from /proc/self/status
//   process_open_fds               gauge    entries of /proc/self/fd
//   process_cpu_seconds_total      counter  utime + stime from /proc/self/stat
//   process_start_time_seconds     gauge    boot time (/proc/stat btime) + starttime, Unix epoch
// The parsers take file contents, so tests feed them canned text; the read_* functions apply
// them to the live files and return nullopt where /proc is missing or unparsable.
#pragma once

#include <optional>
#include <string_view>

#include "actors/metrics/errc.hpp"

namespace tandem::metrics {

class registry;

// "VmRSS:   1234 kB" in /proc/<pid>/status -> bytes.
std::optional<double> parse_resident_memory_bytes(std::string_view proc_status);

struct stat_times {
  double cpu_seconds = 0;             // utime + stime
  double start_seconds_after_boot = 0; // starttime
};
// /proc/<pid>/stat; ticks_per_second is sysconf(_SC_CLK_TCK). The command name (field 2) may
// hold spaces and parentheses, so fields are counted from the last ')'.
std::optional<stat_times> parse_stat_times(std::string_view proc_pid_stat, long ticks_per_second);

// "btime <seconds>" in /proc/stat: boot time, Unix epoch.
std::optional<double> parse_boot_time_seconds(std::string_view proc_stat);

std::optional<double> read_resident_memory_bytes();
// Not counting the descriptor used to list /proc/self/fd.
std::optional<double> read_open_fds();
std::optional<double> read_cpu_seconds_total();
std::optional<double> read_start_time_seconds();

// Registers the four families above with collect callbacks. A figure that cannot be read at an
// exposition keeps its previous value. Returns the registration error, if any (a name already
// taken by a different family); calling it twice on one registry is harmless.
std::optional<metrics_error> add_process_metrics(registry& reg);

} // namespace tandem::metrics
