// Small pieces the benchmarks share: machine facts to print next to every figure, the raw
// write + fdatasync baseline, and, for benchmarks that start real nodes, child processes, free
// ports and /proc figures (RSS, CPU ticks). Header-only, plain POSIX; not a test library (the
// integration tests have tests/support/ for that, which benchmarks must not depend on).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tandem::bench {

using bench_clock = std::chrono::steady_clock;

// Errors in a benchmark end the run: they are thrown as this and reported by main(), which then
// cleans up (kills the nodes it started, removes its temp dir).
struct bench_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// The filesystem type of `dir`, by statfs magic, for the machine line.
inline std::string fs_type_name(const std::string& dir) {
  struct statfs s{};
  if (::statfs(dir.c_str(), &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53: return "ext2/3/4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x794c7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    default: {
      char b[32];
      std::snprintf(b, sizeof b, "0x%lx", static_cast<unsigned long>(s.f_type));
      return b;
    }
  }
}

inline std::string cpu_model() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpu, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

// "1.87 1.35 1.46": the 1, 5 and 15 minute load averages.
inline std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

// The facts printed next to every figure (and written by --json, bench_json.hpp).
struct machine_facts {
  std::string cpu;        // model name from /proc/cpuinfo
  unsigned cores = 0;     // hardware threads
  std::string kernel;     // "Linux 6.18.44"
  std::string dir;        // where the benchmark writes
  std::string filesystem; // of `dir`, fs_type_name()
  std::string loadavg;    // load_average(), at the time of reading
};

inline machine_facts read_machine_facts(const std::string& dir) {
  utsname u{};
  ::uname(&u);
  return {cpu_model(), std::thread::hardware_concurrency(), std::string{u.sysname} + " " + u.release, dir,
          fs_type_name(dir), load_average()};
}

// One line of machine facts: CPU model, cores, kernel, the filesystem of `dir`, load average.
inline std::string machine_line(const machine_facts& m) {
  std::ostringstream o;
  o << "machine: cpu=\"" << m.cpu << "\" cores=" << m.cores << " kernel=" << m.kernel << " fs(" << m.dir
    << ")=" << m.filesystem << " loadavg=" << m.loadavg;
  return o.str();
}

inline std::string machine_line(const std::string& dir) { return machine_line(read_machine_facts(dir)); }

// The device with nothing in between: pwrite `bytes` at the end of a file in `dir`, fdatasync,
// repeat. Latencies (µs) accumulate over every run_for() so runs can be interleaved with other
// work in slices, over the same wall-clock span (fdatasync latency drifts on shared machines).
class raw_sync_loop {
public:
  explicit raw_sync_loop(const std::string& dir, const std::string& file = "raw-fdatasync.dat")
    : path_(dir + "/" + file) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw bench_error(errno_text("open " + path_));
  }
  ~raw_sync_loop() {
    ::close(fd_);
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  raw_sync_loop(const raw_sync_loop&) = delete;
  raw_sync_loop& operator=(const raw_sync_loop&) = delete;

  void run_for(double seconds, std::size_t bytes) {
    const std::string buf(std::max<std::size_t>(bytes, 1), 'x');
    const auto start = bench_clock::now();
    const auto deadline = start + std::chrono::duration_cast<bench_clock::duration>(
                                      std::chrono::duration<double>(seconds));
    while (bench_clock::now() < deadline) {
      const auto t0 = bench_clock::now();
      if (::pwrite(fd_, buf.data(), buf.size(), off_) != static_cast<ssize_t>(buf.size()) || ::fdatasync(fd_) != 0)
        throw bench_error(errno_text("raw write " + path_));
      off_ += static_cast<off_t>(buf.size());
      lat_us_.push_back(std::chrono::duration<double, std::micro>(bench_clock::now() - t0).count());
    }
    seconds_ += std::chrono::duration<double>(bench_clock::now() - start).count();
  }
  const std::vector<double>& latencies_us() const { return lat_us_; }
  // Bytes written and wall-clock seconds spent, over every run_for().
  std::uint64_t bytes_written() const { return static_cast<std::uint64_t>(off_); }
  double seconds() const { return seconds_; }

private:
  std::string path_;
  int fd_ = -1;
  off_t off_ = 0;
  double seconds_ = 0;
  std::vector<double> lat_us_;
};

// Nearest-rank percentile (p in [0, 100]) of a copy of `v`; 0 for no samples.
inline double percentile_of(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  auto k = rank == 0 ? 0 : std::min(rank - 1, v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// The share of `v` strictly above `threshold`, in percent; 0 for no samples. Issue 19's p99 ratio
// is decided by the share of messages that meet a stall of 1 ms or more (docs/performance.md,
// "What the p99 target measures"): a target whose share passes 1% has its p99 among the stalls.
inline double percent_above(const std::vector<double>& v, double threshold) {
  if (v.empty()) return 0;
  const auto n = std::count_if(v.begin(), v.end(), [&](double x) { return x > threshold; });
  return 100.0 * static_cast<double>(n) / static_cast<double>(v.size());
}

inline std::uint16_t any_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw bench_error(errno_text("socket"));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw bench_error(errno_text("bind 127.0.0.1:0"));
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released). Nothing
// listens on it afterwards, so it also serves as "the address of a closed port". Never returns
// the same port twice in one process (the kernel may hand a just-released port out again).
inline std::uint16_t free_port() {
  static std::set<std::uint16_t> handed_out;
  for (;;) {
    auto p = any_free_port();
    if (handed_out.insert(p).second) return p;
  }
}

// Starts argv[0] with stdout and stderr appended to `log_path`, in `cwd`. The child gets
// SIGKILL when the benchmark dies (PR_SET_PDEATHSIG), so no node outlives a crashed run, and an
// empty signal mask (the benchmark blocks SIGINT/SIGTERM to handle them on one thread).
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& cwd, const std::string& log_path) {
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw bench_error(errno_text("fork"));
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    if (::chdir(cwd.c_str()) != 0) ::_exit(127);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// Whether `pid` (our child) still runs; reaps it if it exited.
inline bool child_running(pid_t pid) {
  int status = 0;
  return ::waitpid(pid, &status, WNOHANG) == 0;
}

// SIGTERM, then SIGKILL if the child has not exited after `grace`; always reaps it.
inline void stop_child(pid_t pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  const auto deadline = bench_clock::now() + grace;
  int status = 0;
  while (bench_clock::now() < deadline) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || r < 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
}

// A "Key: value" field of /proc/PID/status or /proc/PID/io (the number, e.g. KiB for VmRSS); 0
// if unreadable.
inline std::uint64_t proc_field(pid_t pid, const char* file, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/" + file);
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key + ":", 0) == 0) return std::stoull(line.substr(key.size() + 1));
  return 0;
}


// Resident set size of `pid` in KiB (VmRSS of /proc/PID/status); 0 if unreadable.
inline std::uint64_t rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

// utime + stime of `pid` in clock ticks (fields 14 and 15 of /proc/PID/stat); 0 if unreadable.
inline std::uint64_t cpu_ticks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close_paren = s.rfind(')'); // the command name may contain spaces and parentheses
  if (close_paren == std::string::npos) return 0;
  std::istringstream rest(s.substr(close_paren + 2));
  std::string field;
  std::uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) { // field 3 is the state
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return utime + stime;
}

inline double ticks_to_seconds(std::uint64_t ticks) {
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

} // namespace tandem::bench
