// floor_node: the least a durable node can do on this host, as a reference for replication_bench
// (issue 19). One thread per process, blocking calls, no framework, no checks beyond the frame
// length: what is left of a publish's latency is the loopback, the kernel's wake-ups and the
// fdatasyncs themselves. replication_bench runs it as a lone primary ("floor1", the single-node
// floor) and as a primary with one replica ("floor", the sync-pair floor), in the same slices as
// Tandem and Redis; bench/peers/floor_pair.hpp is the bench side. With --threaded ("floorT1",
// "floorT") each process does its writes and fdatasyncs on a second thread (class disk below):
// the floor of a node shaped like Tandem, whose sockets and journal are on different threads.
//
//   floor_node [--threaded] --listen PORT --file PATH [--replica-port PORT]  a primary (a pair's)
//   floor_node [--threaded] --replica --listen PORT --file PATH              a replica
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
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
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

// Where a node's appends are made durable. Inline (the floor): on the calling thread, the
// replica's copy sent between the write and the fdatasync. Threaded (--threaded, Tandem's shape):
// the I/O thread hands each batch to a disk thread, which writes it, hands it back for sending
// (through an eventfd the I/O thread polls), fdatasyncs and reports it durable the same way: two
// thread hand-offs per node, as a record crosses from Tandem's I/O thread to its journal and back.
class disk {
public:
  using sender = std::function<void(const char*, std::size_t)>;
  disk(const std::string& path, bool threaded) : log_(path) {
    if (!threaded) return;
    efd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd_ < 0) die("eventfd");
    std::thread([this] { run(); }).detach(); // lives as long as the process (the bench SIGTERMs it)
  }
  // -1 inline; threaded: readable when written batches or durable counts wait (collect()).
  int event_fd() const { return efd_; }
  // `n` messages in `bytes` at `p`; `written` gets them once written, before their fdatasync.
  void submit(const char* p, std::size_t bytes, std::uint64_t n, const sender& written) {
    if (efd_ < 0) {
      log_.append(p, bytes);
      written(p, bytes);
      log_.sync();
      durable_ += n;
      return;
    }
    {
      std::lock_guard lock(mu_);
      todo_.push_back({std::string(p, bytes), n});
    }
    cv_.notify_one();
  }
  // Threaded: on the I/O thread after event_fd() polled readable: written batches to `written`.
  void collect(const sender& written) {
    std::uint64_t ignored;
    if (efd_ < 0 || ::read(efd_, &ignored, sizeof ignored) < 0) return;
    std::vector<std::string> batches;
    {
      std::lock_guard lock(mu_);
      batches.swap(written_);
    }
    for (const auto& b : batches) written(b.data(), b.size());
  }
  std::uint64_t durable() const { return durable_.load(); }

private:
  struct batch {
    std::string bytes;
    std::uint64_t n;
  };
  void run() {
    for (;;) {
      std::vector<batch> work;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !todo_.empty(); });
        work.swap(todo_);
      }
      std::uint64_t n = 0;
      for (auto& b : work) {
        log_.append(b.bytes.data(), b.bytes.size());
        n += b.n;
      }
      {
        std::lock_guard lock(mu_);
        for (auto& b : work) written_.push_back(std::move(b.bytes));
      }
      wake();
      log_.sync();
      durable_ += n;
      wake();
    }
  }
  void wake() {
    const std::uint64_t one = 1;
    if (::write(efd_, &one, sizeof one) < 0) die("eventfd write");
  }

  log_file log_;
  int efd_ = -1;
  std::atomic<std::uint64_t> durable_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<batch> todo_;
  std::vector<std::string> written_;
};

const disk::sender send_nothing = [](const char*, std::size_t) {};

int run_replica(std::uint16_t port, const std::string& file, bool threaded) {
  disk d(file, threaded);
  const int listener = listen_on(port);
  const int primary = accept_one(listener);
  inbox in;
  std::uint64_t acked = 0;
  for (;;) {
    pollfd fds[2] = {{primary, POLLIN, 0}, {d.event_fd(), POLLIN, 0}};
    if (::poll(fds, d.event_fd() >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (fds[0].revents != 0) {
      if (!in.read_from(primary)) return 0;
      const auto [bytes, n] = in.complete();
      if (n > 0) {
        d.submit(in.buf.data(), bytes, n, send_nothing);
        in.consume(bytes);
      }
    }
    if (d.event_fd() >= 0 && fds[1].revents != 0) d.collect(send_nothing);
    if (d.durable() > acked) {
      acked = d.durable();
      send_count(primary, acked);
    }
  }
}

// Serves one client at a time (replication_bench opens one per window); the replica's ack count
// is cumulative over the process, so each client is answered relative to where it started.
int run_primary(std::uint16_t port, const std::string& file, int replica_port, bool threaded) {
  disk d(file, threaded);
  const int replica = replica_port > 0 ? dial(static_cast<std::uint16_t>(replica_port)) : -1;
  const disk::sender to_replica = [replica](const char* p, std::size_t n) {
    if (replica >= 0) write_all(replica, p, n, "send to the replica");
  };
  const int listener = listen_on(port);
  std::uint64_t remote = 0;
  unsigned char acks[4096];
  std::size_t ack_bytes = 0;
  for (;;) {
    const int client = accept_one(listener);
    const std::uint64_t base = d.durable(); // the last client's messages were all answered
    std::uint64_t answered = base;
    inbox in;
    for (bool open = true; open;) {
      pollfd fds[3] = {{client, POLLIN, 0}, {d.event_fd(), POLLIN, 0}, {replica, POLLIN, 0}};
      if (::poll(fds, 3, -1) < 0) { // a negative fd is skipped
        if (errno == EINTR) continue;
        die("poll");
      }
      if (fds[0].revents != 0) {
        open = in.read_from(client);
        const auto [bytes, n] = in.complete();
        if (n > 0) {
          d.submit(in.buf.data(), bytes, n, to_replica);
          in.consume(bytes);
        }
      }
      if (fds[1].revents != 0) d.collect(to_replica);
      if (fds[2].revents != 0) {
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
      const std::uint64_t durable = replica >= 0 ? std::min(d.durable(), remote) : d.durable();
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
  bool replica = false, threaded = false;
  int port = 0, replica_port = 0;
  std::string file;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--replica") replica = true;
    else if (k == "--threaded") threaded = true;
    else if (k == "--listen" && i + 1 < argc) port = std::atoi(argv[++i]);
    else if (k == "--replica-port" && i + 1 < argc) replica_port = std::atoi(argv[++i]);
    else if (k == "--file" && i + 1 < argc) file = argv[++i];
    else {
      std::fprintf(stderr, "usage: floor_node [--replica] [--threaded] --listen PORT --file PATH [--replica-port PORT]\n");
      return 2;
    }
  }
  if (port <= 0 || port > 65535 || file.empty() || replica_port < 0 || replica_port > 65535) {
    std::fprintf(stderr, "floor_node: --listen PORT (1-65535) and --file PATH are required\n");
    return 2;
  }
  return replica ? run_replica(static_cast<std::uint16_t>(port), file, threaded)
                 : run_primary(static_cast<std::uint16_t>(port), file, replica_port, threaded);
}
