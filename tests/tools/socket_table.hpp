// The kernel's view of who is connected to whom, for tests that must count real TCP connections
// rather than trust a node's own status: parses /proc/PID/net/tcp and tcp6 (the tables of the
// network namespace PID lives in) and maps socket inodes to processes through /proc/PID/fd.
//
// One TCP connection is TWO lines of these tables, one per endpoint: the accepting end (local
// port = the listener's port, remote = the dialer's ephemeral port) and the dialing end (local =
// the ephemeral port, remote = the listener's port). On 127.0.0.1 both lines are in the same
// table; across network namespaces each is in its own namespace's table. connections_between()
// counts each connection once, by its accepting end, and only when the partner line exists and
// belongs to the other process.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <sys/types.h>
#include <tuple>
#include <unistd.h>
#include <vector>

namespace tandem::test {

// include/net/tcp_states.h
inline constexpr int tcp_established = 1;

struct tcp_endpoint {
  std::string local_address, remote_address; // hex as the kernel prints it ("0100007F"); compared as text
  std::uint16_t local_port = 0, remote_port = 0;
  int state = 0;
  std::uint64_t inode = 0; // 0 when no process holds the socket (TIME_WAIT, not yet accepted)

  auto key() const { return std::tie(local_address, local_port, remote_address, remote_port, state, inode); }
  bool operator<(const tcp_endpoint& o) const { return key() < o.key(); }
};

// Lines of /proc/<pid>/net/tcp and tcp6. Each line:
//   sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
// with addresses as HEXADDR:HEXPORT.
inline std::vector<tcp_endpoint> read_tcp_table(pid_t pid) {
  std::vector<tcp_endpoint> out;
  for (const char* file : {"tcp", "tcp6"}) {
    std::ifstream in{"/proc/" + std::to_string(pid) + "/net/" + file};
    std::string line;
    std::getline(in, line); // header
    while (std::getline(in, line)) {
      std::istringstream fields{line};
      std::string sl, local, remote, state, queues, timer, retransmits, uid, timeout;
      std::uint64_t inode = 0;
      if (!(fields >> sl >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode))
        continue;
      auto l = local.find(':'), r = remote.find(':');
      if (l == std::string::npos || r == std::string::npos)
        continue;
      tcp_endpoint e;
      e.local_address = local.substr(0, l);
      e.local_port = static_cast<std::uint16_t>(std::stoul(local.substr(l + 1), nullptr, 16));
      e.remote_address = remote.substr(0, r);
      e.remote_port = static_cast<std::uint16_t>(std::stoul(remote.substr(r + 1), nullptr, 16));
      e.state = static_cast<int>(std::stoul(state, nullptr, 16));
      e.inode = inode;
      out.push_back(std::move(e));
    }
  }
  return out;
}

// Inodes of the sockets process `pid` holds open ("socket:[N]" links in /proc/PID/fd).
inline std::set<std::uint64_t> socket_inodes(pid_t pid) {
  std::set<std::uint64_t> out;
  std::error_code ec;
  for (const auto& fd : std::filesystem::directory_iterator{"/proc/" + std::to_string(pid) + "/fd", ec}) {
    std::error_code link_ec; // the fd may close while we look
    auto target = std::filesystem::read_symlink(fd.path(), link_ec).string();
    if (!link_ec && target.rfind("socket:[", 0) == 0)
      out.insert(std::stoull(target.substr(8)));
  }
  return out;
}

struct tcp_connection {
  pid_t acceptor = 0;
  std::uint16_t listen_port = 0; // the acceptor's listener
  std::uint16_t dialer_port = 0; // the dialer's ephemeral port
};

struct connection_census {
  std::vector<tcp_connection> connections; // between the two processes, on their listener ports
  int endpoints_on_ports = 0;              // ESTABLISHED lines with either port at either end
  std::string listing;                     // those lines, for failure messages
};

// ESTABLISHED connections between process a (listening on a_port) and process b (on b_port),
// dialed either way. Reads both processes' tables, so a and b may live in different network
// namespaces; on one host the two tables are the same and are merged.
inline connection_census connections_between(pid_t a, std::uint16_t a_port, pid_t b, std::uint16_t b_port) {
  std::set<tcp_endpoint> table;
  for (pid_t p : {a, b})
    for (auto& e : read_tcp_table(p))
      table.insert(std::move(e));
  auto a_sockets = socket_inodes(a), b_sockets = socket_inodes(b);
  auto owner = [&](std::uint64_t inode) -> pid_t {
    if (inode != 0 && a_sockets.count(inode))
      return a;
    if (inode != 0 && b_sockets.count(inode))
      return b;
    return 0;
  };
  connection_census out;
  for (const auto& e : table) {
    if (e.state != tcp_established)
      continue;
    bool on_ports = e.local_port == a_port || e.local_port == b_port || e.remote_port == a_port
                    || e.remote_port == b_port;
    if (!on_ports)
      continue;
    ++out.endpoints_on_ports;
    out.listing += e.local_address + ":" + std::to_string(e.local_port) + " -> " + e.remote_address + ":"
                   + std::to_string(e.remote_port) + " inode " + std::to_string(e.inode) + " owner "
                   + std::to_string(owner(e.inode)) + "\n";
    pid_t acceptor = owner(e.inode);
    bool accepting_end = (acceptor == a && e.local_port == a_port) || (acceptor == b && e.local_port == b_port);
    if (!accepting_end)
      continue;
    pid_t dialer = acceptor == a ? b : a;
    for (const auto& f : table)
      if (f.state == tcp_established && f.local_address == e.remote_address && f.local_port == e.remote_port
          && f.remote_address == e.local_address && f.remote_port == e.local_port && owner(f.inode) == dialer) {
        out.connections.push_back({acceptor, e.local_port, e.remote_port});
        break;
      }
  }
  return out;
}

} // namespace tandem::test
