// floor_node: the least a durable node can do on this host, as a reference for replication_bench
// (issue 19). One thread per process, blocking calls, no framework, no checks beyond the frame
// length: what is left of a publish's latency is the loopback, the kernel's wake-ups and the
// fdatasyncs themselves. replication_bench runs it as a lone primary ("floor1", the single-node
// floor) and as a primary with one replica ("floor", the sync-pair floor), in the same slices as
// Tandem and Redis; bench/peers/floor_pair.hpp is the bench side.
//
//   floor_node --listen PORT --file PATH [--replica-port PORT]   a primary (with a replica: a pair)
//   floor_node --replica --listen PORT --file PATH               a replica
//
// Wire (127.0.0.1 only): a message is a u32 length (little-endian, at most 1 MiB) and that many
// bytes; an ack is a u64 (little-endian) count of messages durable -- on the primary's disk and,
// with a replica, on the replica's -- cumulative over the connection.
//
// A primary reads whatever its client sent, writes the complete messages to its file, sends the
// same bytes to the replica before its own fdatasync (so the two fdatasyncs overlap, as Tandem's
// journal.send_before_durable), then fdatasyncs and answers once the replica's ack covers them.
// A replica reads, writes, fdatasyncs and acks. Writes land on zeros written ahead (1 MiB at a
// time, as Tandem's preallocated tail), so each fdatasync flushes data only. Exits 1 on any
// error, with the reason on stderr; the bench SIGTERMs it at the end.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr std::uint32_t max_message = 1 << 20;
constexpr std::size_t zero_ahead = 1 << 20;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "floor_node: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

int listen_on(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0)
    die("listen on 127.0.0.1:" + std::to_string(port));
  return fd;
}

int accept_one(int listener) {
  int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) die("accept");
  return fd;
}

// Dials 127.0.0.1:port, retrying for up to 10 s while the replica starts.
int dial(std::uint16_t port) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return fd;
    ::close(fd);
    ::usleep(10000);
  }
  die("connect to the replica at 127.0.0.1:" + std::to_string(port));
}

void write_all(int fd, const char* p, std::size_t n, const char* what) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) die(what);
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

void send_count(int fd, std::uint64_t count) {
  unsigned char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(count >> (8 * i));
  write_all(fd, reinterpret_cast<const char*>(b), sizeof b, "send ack");
}

// The journal file: appends land on zeros written (and made durable) ahead of them.
class log_file {
public:
  explicit log_file(const std::string& path) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) die("open " + path);
  }
  void append(const char* p, std::size_t n) {
    while (offset_ + n > zeroed_) {
      const std::vector<char> zeros(zero_ahead, 0);
      if (::pwrite(fd_, zeros.data(), zeros.size(), static_cast<off_t>(zeroed_)) != static_cast<ssize_t>(zeros.size()))
        die("write zeros");
      zeroed_ += zeros.size();
    }
    if (::pwrite(fd_, p, n, static_cast<off_t>(offset_)) != static_cast<ssize_t>(n)) die("write");
    offset_ += n;
  }
  void sync() {
    if (::fdatasync(fd_) != 0) die("fdatasync");
  }

private:
  int fd_ = -1;
  std::size_t offset_ = 0, zeroed_ = 0;
};

// Bytes read from one connection; complete() gives the length of the whole messages at its front.
struct inbox {
  std::vector<char> buf;
  std::size_t used = 0;

  // One read of what is there (blocking until something is); false at end of stream.
  bool read_from(int fd) {
    if (buf.size() - used < 64 * 1024) buf.resize(std::max<std::size_t>(buf.size() * 2, 1 << 20));
    ssize_t r;
    do r = ::read(fd, buf.data() + used, buf.size() - used);
    while (r < 0 && errno == EINTR);
    if (r < 0) die("read");
    used += static_cast<std::size_t>(r);
    return r > 0;
  }
  // {bytes, messages} of the complete messages at the front.
  std::pair<std::size_t, std::uint64_t> complete() const {
    std::size_t at = 0;
    std::uint64_t n = 0;
    while (used - at >= 4) {
      std::uint32_t len = 0;
      std::memcpy(&len, buf.data() + at, 4); // little-endian hosts only (x86-64, arm64)
      if (len > max_message) {
        errno = EPROTO;
        die("a message longer than 1 MiB");
      }
      if (used - at - 4 < len) break;
      at += 4 + len;
      ++n;
    }
    return {at, n};
  }
  void consume(std::size_t n) {
    std::memmove(buf.data(), buf.data() + n, used - n);
    used -= n;
  }
};

int run_replica(std::uint16_t port, const std::string& file) {
  log_file log(file);
  const int listener = listen_on(port);
  const int primary = accept_one(listener);
  inbox in;
  std::uint64_t durable = 0;
  while (in.read_from(primary)) {
    const auto [bytes, n] = in.complete();
    if (n == 0) continue;
    log.append(in.buf.data(), bytes);
    log.sync();
    in.consume(bytes);
    durable += n;
    send_count(primary, durable);
  }
  return 0;
}

// Serves one client at a time (replication_bench opens one per window); the replica's ack count
// is cumulative over the process, so each client is answered relative to where it started.
int run_primary(std::uint16_t port, const std::string& file, int replica_port) {
  log_file log(file);
  const int replica = replica_port > 0 ? dial(static_cast<std::uint16_t>(replica_port)) : -1;
  const int listener = listen_on(port);
  std::uint64_t local = 0, remote = 0;
  unsigned char acks[4096];
  std::size_t ack_bytes = 0;
  for (;;) {
    const int client = accept_one(listener);
    const std::uint64_t base = local;
    std::uint64_t answered = local;
    inbox in;
    for (bool open = true; open;) {
      pollfd fds[2] = {{client, POLLIN, 0}, {replica, POLLIN, 0}};
      if (::poll(fds, replica >= 0 ? 2 : 1, -1) < 0) {
        if (errno == EINTR) continue;
        die("poll");
      }
      if (fds[0].revents != 0) {
        open = in.read_from(client);
        const auto [bytes, n] = in.complete();
        if (n > 0) {
          log.append(in.buf.data(), bytes);
          if (replica >= 0) write_all(replica, in.buf.data(), bytes, "send to the replica");
          log.sync();
          in.consume(bytes);
          local += n;
        }
      }
      if (replica >= 0 && fds[1].revents != 0) {
        const ssize_t r = ::read(replica, acks + ack_bytes, sizeof acks - ack_bytes);
        if (r <= 0) die("read from the replica");
        ack_bytes += static_cast<std::size_t>(r);
        const std::size_t whole = ack_bytes / 8 * 8;
        if (whole > 0) {
          remote = 0;
          for (std::size_t i = 0; i < 8; ++i) remote |= static_cast<std::uint64_t>(acks[whole - 8 + i]) << (8 * i);
          std::memmove(acks, acks + whole, ack_bytes - whole);
          ack_bytes -= whole;
        }
      }
      const std::uint64_t durable = replica >= 0 ? std::min(local, remote) : local;
      if (open && durable > answered) {
        send_count(client, durable - base);
        answered = durable;
      }
    }
    ::close(client);
  }
}

} // namespace

int main(int argc, char** argv) {
  bool replica = false;
  int port = 0, replica_port = 0;
  std::string file;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--replica") replica = true;
    else if (k == "--listen" && i + 1 < argc) port = std::atoi(argv[++i]);
    else if (k == "--replica-port" && i + 1 < argc) replica_port = std::atoi(argv[++i]);
    else if (k == "--file" && i + 1 < argc) file = argv[++i];
    else {
      std::fprintf(stderr, "usage: floor_node [--replica] --listen PORT --file PATH [--replica-port PORT]\n");
      return 2;
    }
  }
  if (port <= 0 || port > 65535 || file.empty() || replica_port < 0 || replica_port > 65535) {
    std::fprintf(stderr, "floor_node: --listen PORT (1-65535) and --file PATH are required\n");
    return 2;
  }
  return replica ? run_replica(static_cast<std::uint16_t>(port), file)
                 : run_primary(static_cast<std::uint16_t>(port), file, replica_port);
}
