#include "bench/peers/floor_pair.hpp"

#include <poll.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "bench/node_harness.hpp"

namespace tandem::bench {

namespace {

using namespace std::chrono_literals;

const bench_clock::time_point epoch = bench_clock::now();

double now_us() { return std::chrono::duration<double, std::micro>(bench_clock::now() - epoch).count(); }

pid_t start_floor(const std::string& binary, const std::string& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv{binary};
  argv.insert(argv.end(), args.begin(), args.end());
  std::lock_guard lock(cleanup_mu);
  const pid_t pid = spawn(argv, dir, dir + "/floor.log");
  live_children.insert(pid);
  return pid;
}

std::string log_tail(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

} // namespace

floor_peer::floor_peer(const std::string& binary, const std::string& dir, bool replica, bool threaded) : dir_(dir) {
  std::filesystem::create_directories(dir);
  std::vector<std::string> primary_args{"--file", dir + "/primary.dat"};
  if (threaded) primary_args.push_back("--threaded");
  if (replica) {
    const auto rport = free_port();
    std::vector<std::string> replica_args{"--replica", "--listen", std::to_string(rport), "--file", dir + "/replica.dat"};
    if (threaded) replica_args.push_back("--threaded");
    replica_ = start_floor(binary, dir, replica_args);
    primary_args.insert(primary_args.end(), {"--replica-port", std::to_string(rport)});
  }
  port_ = free_port();
  primary_args.insert(primary_args.end(), {"--listen", std::to_string(port_)});
  primary_ = start_floor(binary, dir, primary_args);
}

floor_peer::~floor_peer() {
  if (fd_ >= 0) ::close(fd_);
  std::lock_guard lock(cleanup_mu);
  for (pid_t p : {primary_, replica_}) {
    if (p <= 0) continue;
    stop_child(p, std::chrono::milliseconds{5000});
    live_children.erase(p);
  }
}

void floor_peer::open(std::size_t window) {
  if (fd_ >= 0) throw bench_error("floor: open twice");
  const auto deadline = bench_clock::now() + 10s;
  while (fd_ < 0) {
    if (!child_running(primary_) || (replica_ > 0 && !child_running(replica_)))
      throw bench_error("floor: floor_node exited:\n" + log_tail(dir_ + "/floor.log"));
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw bench_error(errno_text("socket"));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port_);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      fd_ = fd;
      break;
    }
    ::close(fd);
    if (bench_clock::now() > deadline)
      throw bench_error("floor: floor_node did not listen within 10 s:\n" + log_tail(dir_ + "/floor.log"));
    std::this_thread::sleep_for(10ms);
  }
  run_ = floor_run{};
  run_.window = window;
  sent_ = acked_ = 0;
  send_us_.clear();
}

// Reads at least one ack (a u64 count of this connection's messages durable) and records the
// latency of every message it covers; waits at most 10 s.
void floor_peer::read_ack(std::uint64_t& acked) {
  unsigned char b[8 * 64];
  std::size_t have = 0;
  while (have == 0 || have % 8 != 0) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) throw bench_error("floor: no ack within 10 s");
    const ssize_t r = ::read(fd_, b + have, sizeof b - have);
    if (r <= 0) throw bench_error(r == 0 ? "floor: the primary closed the connection" : errno_text("floor: read"));
    have += static_cast<std::size_t>(r);
  }
  std::uint64_t count = 0;
  for (std::size_t i = 0; i < 8; ++i) count |= static_cast<std::uint64_t>(b[have - 8 + i]) << (8 * i);
  if (count > sent_ || count < acked) throw bench_error("floor: an ack for messages never sent");
  const double t = now_us();
  for (std::uint64_t s = acked; s < count; ++s) run_.latencies_us.push_back(t - send_us_[s]);
  acked = count;
}

void floor_peer::run_slice(double seconds, const std::string& payload) {
  if (fd_ < 0) throw bench_error("floor: run_slice without open");
  const auto p0 = cpu_ticks(primary_), r0 = replica_ > 0 ? cpu_ticks(replica_) : 0;
  std::string frame(4 + payload.size(), '\0');
  const auto len = static_cast<std::uint32_t>(payload.size());
  for (std::size_t i = 0; i < 4; ++i) frame[i] = static_cast<char>(len >> (8 * i));
  std::memcpy(frame.data() + 4, payload.data(), payload.size());
  const auto start = bench_clock::now();
  const auto deadline = start + std::chrono::duration_cast<bench_clock::duration>(std::chrono::duration<double>(seconds));
  std::string out;
  const std::uint64_t first = sent_;
  while (bench_clock::now() < deadline) {
    out.clear();
    const double t = now_us();
    while (sent_ - acked_ < run_.window) { // fill the window in one write
      out += frame;
      send_us_.push_back(t);
      ++sent_;
    }
    for (std::size_t done = 0; done < out.size();) {
      const ssize_t w = ::write(fd_, out.data() + done, out.size() - done);
      if (w <= 0) throw bench_error(errno_text("floor: write"));
      done += static_cast<std::size_t>(w);
    }
    read_ack(acked_);
  }
  while (acked_ < sent_) read_ack(acked_);
  run_.messages += sent_ - first;
  run_.seconds += std::chrono::duration<double>(bench_clock::now() - start).count();
  run_.cpu_primary_s += ticks_to_seconds(cpu_ticks(primary_) - p0);
  if (replica_ > 0) run_.cpu_replica_s += ticks_to_seconds(cpu_ticks(replica_) - r0);
}

floor_run floor_peer::close() {
  if (fd_ < 0) throw bench_error("floor: close without open");
  ::close(fd_);
  fd_ = -1;
  return std::move(run_);
}

} // namespace tandem::bench
