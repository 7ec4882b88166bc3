#include "tests/support/process.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tandem::test {

temp_dir::temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string{base != nullptr && *base != '\0' ? base : "/tmp"} + "/tandem-test.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    throw std::runtime_error(std::string{"mkdtemp: "} + std::strerror(errno));
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

// Ports are drawn at random BELOW the kernel's ephemeral range (ip_local_port_range): a port the
// kernel hands out for an outgoing connection meanwhile (nodes dial each other all the time)
// can then never collide with one a test gave to a listener.
namespace {

// Ports handed out by free_port() are reserved across processes by a file per port under
// $TMPDIR/tandem-test-ports (created with O_EXCL, holding the owner's pid), so test processes
// running in parallel (ctest -j) never pick the same port, even while a node that owns it is
// down between a kill and its restart. A file whose pid is gone is stale and reclaimed.
struct port_reservations {
  std::string dir;
  std::vector<std::string> owned;
  port_reservations() {
    const char* tmp = std::getenv("TMPDIR");
    dir = std::string{tmp && *tmp ? tmp : "/tmp"} + "/tandem-test-ports";
    ::mkdir(dir.c_str(), 0777);
  }
  ~port_reservations() {
    for (const auto& f : owned)
      ::unlink(f.c_str());
  }
  bool reserve(std::uint16_t port) {
    const std::string path = dir + "/" + std::to_string(port);
    for (int round = 0; round < 2; ++round) {
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd >= 0) {
        auto pid = std::to_string(::getpid());
        (void)!::write(fd, pid.data(), pid.size());
        ::close(fd);
        owned.push_back(path);
        return true;
      }
      if (errno != EEXIST)
        return true; // no reservation possible here: fall back to the bind check alone
      std::ifstream in{path};
      long owner = 0;
      if (!(in >> owner) || owner <= 0 || (::kill(static_cast<pid_t>(owner), 0) != 0 && errno == ESRCH))
        ::unlink(path.c_str()); // stale: its owner is gone
      else
        return false;
    }
    return false;
  }
};

} // namespace

std::uint16_t free_port() {
  static std::mt19937 rng{std::random_device{}()};
  static std::mutex mu;
  static port_reservations reservations;
  int low = 32768;
  if (std::ifstream range{"/proc/sys/net/ipv4/ip_local_port_range"}; range)
    range >> low;
  int first = 10000, last = std::max(first + 1000, low - 1);
  std::lock_guard guard{mu};
  std::uniform_int_distribution<int> pick{first, last};
  for (int attempt = 0; attempt < 1000; ++attempt) {
    auto port = static_cast<std::uint16_t>(pick(rng));
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(port);
    bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    if (fd >= 0)
      ::close(fd);
    if (ok && reservations.reserve(port))
      return port;
  }
  throw std::runtime_error("free_port: no free port below the ephemeral range");
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(interval);
  }
}

namespace {

std::atomic<unsigned> g_child_counter{0};

} // namespace

child_process::child_process(const std::vector<std::string>& argv, const std::string& cwd,
                             const std::string& log_dir) {
  auto n = g_child_counter.fetch_add(1);
  out_path_ = log_dir + "/child-" + std::to_string(n) + ".out";
  err_path_ = log_dir + "/child-" + std::to_string(n) + ".err";
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error(std::string{"fork: "} + std::strerror(errno));
  if (pid_ == 0) {
    // Child: only async-signal-safe calls from here to exec.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int out = ::open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = ::open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0 || ::chdir(cwd.c_str()) != 0)
      ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

child_process::~child_process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

void child_process::reap(int status) {
  if (WIFEXITED(status))
    exit_code_ = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    exit_code_ = 128 + WTERMSIG(status);
  else
    exit_code_ = -1;
}

bool child_process::running() {
  if (exit_code_)
    return false;
  int status = 0;
  auto rc = ::waitpid(pid_, &status, WNOHANG);
  if (rc == pid_) {
    reap(status);
    return false;
  }
  return rc == 0;
}

void child_process::signal(int sig) {
  if (running())
    ::kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  wait_until([this] { return !running(); }, timeout, 2ms);
  return exit_code_;
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::optional<std::string> read_until_closed(int fd, std::chrono::milliseconds timeout) {
  std::string all;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return std::nullopt;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      continue;
    char buf[4096];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return all;
    all.append(buf, static_cast<size_t>(n));
  }
}

std::optional<std::string> poke(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
  int fd = connect_loopback(port);
  if (fd < 0)
    return std::nullopt;
  if (!bytes.empty())
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  auto got = read_until_closed(fd, timeout);
  ::close(fd);
  return got;
}

std::string read_file(const std::string& path) {
  std::ifstream in{path};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out{path, std::ios::trunc};
  out << text;
}

std::string child_process::stdout_text() const { return read_file(out_path_); }
std::string child_process::stderr_text() const { return read_file(err_path_); }

run_result run(const std::vector<std::string>& argv, const std::string& cwd, std::chrono::milliseconds timeout) {
  temp_dir logs;
  child_process p{argv, cwd, logs.path()};
  run_result r;
  auto code = p.wait_exit(timeout);
  r.exit_code = code ? *code : -1;
  r.out = p.stdout_text();
  r.err = p.stderr_text();
  return r;
}

int child_process::terminate(const std::string& name, std::chrono::milliseconds timeout) {
  signal(SIGTERM);
  auto code = wait_exit(timeout);
  int result = code ? *code : -1;
  if (result != 0) {
    auto err = stderr_text();
    constexpr std::size_t tail = 6000;
    if (err.size() > tail)
      err = "[...]" + err.substr(err.size() - tail);
    std::cerr << "process " << name << " (pid " << pid_ << ") stopped with exit code " << result
              << "; the end of its stderr:\n" << err << "\n";
  }
  return result;
}

std::string tandemd_path() { return std::string{TANDEM_BINARY_DIR} + "/tools/tandemd"; }
std::string tandem_cli_path() { return std::string{TANDEM_BINARY_DIR} + "/tools/tandem"; }

} // namespace tandem::test
