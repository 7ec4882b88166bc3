// The bandwidth half of the WAN rig (issue 20 part 4): a network namespace ("the far site")
// joined to the caller's namespace by a veth pair, with a tc tbf qdisc on both ends, so that
// every byte between here_address() and there_address() goes through a rate limit each way.
// netem is not available on these machines; tbf is. Delay comes from delay_proxy.hpp, put in
// front of the far side's port. Plain POSIX (target tandem_wan_rig, shared with bench/wan_bench).
// Needs root (CAP_NET_ADMIN) and /usr/sbin/ip, /usr/sbin/tc (Debian iproute2).
//
//   caller's namespace                                  namespace ns()
//   here_address() 10.79.K.1 [veth, tbf] <==========> [veth, tbf] there_address() 10.79.K.2
//
// K comes from the process id, so two rigs of different processes (a test and a bench) do not
// collide; within one process make one wan_link at a time. Everything is removed by the
// destructor, also after a failed create(): the namespace (with its processes' sockets and its
// veth end) and the caller's veth end. Processes started inside with exec_prefix() must be ended
// before the destructor runs (declare the wan_link first). Every command is bounded by 10 s.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tandem::test {

// Runs argv (argv[0] an absolute path) with stdout and stderr captured; kills it at `timeout`.
struct command_result {
  int exit_code = -1; // -1: did not start or did not finish in time
  std::string output;
};
command_result run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

class wan_link {
public:
  explicit wan_link(const std::string& tag); // names only; create() makes them
  ~wan_link();
  wan_link(const wan_link&) = delete;
  wan_link& operator=(const wan_link&) = delete;

  // Creates the namespace and the veth pair, addresses them and brings them up. Empty on success,
  // else the step that failed with its output. First removes every rig a process that is gone left
  // behind (a SIGKILLed test or bench runs no destructor): namespaces named tdm-<tag>-<pid> whose
  // pid is not alive, or that carry this process's own pid, with their caller-side veth ends
  // (twh<pid>); a stale veth would hold the same 10.79.K.0/24 a new rig wants.
  std::string create();
  // The namespaces the last create() removed as stale.
  const std::vector<std::string>& swept() const { return swept_; }
  // Puts a tbf qdisc of `bits_per_s` on both ends (replacing any before); 0 removes the limit.
  // The burst is 10 ms at the rate (at least 64 KiB, so a GSO packet fits); the queue holds 20 ms.
  std::string set_rate(std::uint64_t bits_per_s);

  const std::string& ns() const { return ns_; }
  const std::string& here_address() const { return here_; }
  const std::string& there_address() const { return there_; }
  // Prefix that runs a command inside the namespace: {ip, "netns", "exec", ns()}.
  std::vector<std::string> exec_prefix() const;
  // `tc -s qdisc show` of both ends (sent bytes, drops, overlimits), for reports.
  std::string qdisc_stats() const;
  // Deletes the caller's veth end and the namespace (what the destructor does); harmless twice.
  // For a signal handler's thread that ends the process without running destructors.
  void remove() const;

private:
  std::vector<std::string> swept_;
  std::string ns_, veth_here_, veth_there_, here_, there_;
  std::uint64_t rate_ = 0;
};

} // namespace tandem::test
