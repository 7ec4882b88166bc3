#include "tests/support/wan_link.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

extern char** environ;

namespace tandem::test {

namespace {

const std::string ip_bin = "/usr/sbin/ip";
const std::string tc_bin = "/usr/sbin/tc";
constexpr std::chrono::milliseconds step_timeout{10000};

// Reads `fd` until EOF or the deadline; whether EOF came.
bool drain_until(int fd, std::string& out, std::chrono::steady_clock::time_point deadline) {
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return false;
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0)
      return n == 0;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

} // namespace

command_result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  command_result r;
  int pipe_fds[2];
  if (argv.empty() || ::pipe2(pipe_fds, O_CLOEXEC) != 0)
    return r;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int err = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (err != 0) {
    ::close(pipe_fds[0]);
    r.output = argv[0] + ": cannot start";
    return r;
  }
  const bool ended = drain_until(pipe_fds[0], r.output, std::chrono::steady_clock::now() + timeout);
  ::close(pipe_fds[0]);
  if (!ended)
    ::kill(pid, SIGKILL); // then reaped below; exit_code stays -1
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (ended && WIFEXITED(status))
    r.exit_code = WEXITSTATUS(status);
  return r;
}

wan_link::wan_link(const std::string& tag) {
  const auto pid = std::to_string(::getpid());
  ns_ = "tdm-" + tag + "-" + pid;
  veth_here_ = "twh" + pid; // interface names are at most 15 bytes
  veth_there_ = "twt" + pid;
  const auto k = std::to_string(::getpid() % 250 + 1);
  here_ = "10.79." + k + ".1";
  there_ = "10.79." + k + ".2";
}

wan_link::~wan_link() { remove(); }

void wan_link::remove() const {
  run_command({ip_bin, "link", "del", veth_here_}, step_timeout);
  run_command({ip_bin, "netns", "del", ns_}, step_timeout);
}

namespace {

std::string run_steps(const std::vector<std::vector<std::string>>& steps) {
  for (const auto& argv : steps)
    if (auto r = run_command(argv, step_timeout); r.exit_code != 0) {
      std::string line;
      for (const auto& a : argv)
        line += a + " ";
      return line + "-> exit " + std::to_string(r.exit_code) + ": " + r.output;
    }
  return {};
}

// See wan_link::create().
std::vector<std::string> sweep_stale_rigs(const std::string& own_ns) {
  std::vector<std::string> removed;
  const auto listed = run_command({ip_bin, "netns", "list"}, step_timeout);
  if (listed.exit_code != 0)
    return removed;
  std::size_t at = 0;
  while (at < listed.output.size()) {
    auto end = listed.output.find('\n', at);
    if (end == std::string::npos)
      end = listed.output.size();
    const std::string line = listed.output.substr(at, end - at);
    at = end + 1;
    const std::string name = line.substr(0, line.find(' '));
    const auto pid_at = name.rfind('-');
    if (name.rfind("tdm-", 0) != 0 || pid_at == std::string::npos || pid_at + 1 >= name.size())
      continue;
    const std::string pid_text = name.substr(pid_at + 1);
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9)
      continue;
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    // Ours (a stale one of an earlier process that had our pid) or of a process that is gone.
    if (name != own_ns && (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH))
      continue;
    run_command({ip_bin, "link", "del", "twh" + pid_text}, step_timeout);
    run_command({ip_bin, "netns", "del", name}, step_timeout);
    removed.push_back(name);
  }
  return removed;
}

} // namespace

std::string wan_link::create() {
  swept_ = sweep_stale_rigs(ns_);
  const std::vector<std::string> in_ns{ip_bin, "-n", ns_};
  auto there = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), in_ns.begin(), in_ns.end());
    return argv;
  };
  return run_steps({{ip_bin, "netns", "add", ns_},
                    {ip_bin, "link", "add", veth_here_, "type", "veth", "peer", "name", veth_there_},
                    {ip_bin, "link", "set", veth_there_, "netns", ns_},
                    {ip_bin, "addr", "add", here_ + "/24", "dev", veth_here_},
                    there({"addr", "add", there_ + "/24", "dev", veth_there_}),
                    {ip_bin, "link", "set", veth_here_, "up"},
                    there({"link", "set", veth_there_, "up"}),
                    there({"link", "set", "lo", "up"})});
}

std::string wan_link::set_rate(std::uint64_t bits_per_s) {
  std::vector<std::vector<std::string>> steps;
  const std::vector<std::string> here{tc_bin}, there{ip_bin, "netns", "exec", ns_, tc_bin};
  for (const auto& [prefix, dev] : {std::pair{here, veth_here_}, std::pair{there, veth_there_}}) {
    auto argv = prefix;
    if (bits_per_s == 0) {
      if (rate_ == 0)
        continue;
      argv.insert(argv.end(), {"qdisc", "del", "dev", dev, "root"});
    } else {
      const std::uint64_t burst = std::max<std::uint64_t>(64u << 10, bits_per_s / 8 / 100);
      argv.insert(argv.end(), {"qdisc", "replace", "dev", dev, "root", "tbf", "rate", std::to_string(bits_per_s) + "bit",
                               "burst", std::to_string(burst), "latency", "20ms"});
    }
    steps.push_back(argv);
  }
  auto err = run_steps(steps);
  if (err.empty())
    rate_ = bits_per_s;
  return err;
}

std::vector<std::string> wan_link::exec_prefix() const { return {ip_bin, "netns", "exec", ns_}; }

std::string wan_link::qdisc_stats() const {
  return run_command({tc_bin, "-s", "qdisc", "show", "dev", veth_here_}, step_timeout).output +
         run_command({ip_bin, "netns", "exec", ns_, tc_bin, "-s", "qdisc", "show", "dev", veth_there_}, step_timeout).output;
}

} // namespace tandem::test
