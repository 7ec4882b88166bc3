#include "actors/startup.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <system_error>
#include <unistd.h>
#include <fcntl.h>

#include "actors/log.hpp"

namespace tandem {

std::optional<data_dir_lock> data_dir_lock::acquire(const std::string& dir, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    *error = "cannot create data dir " + dir + ": " + ec.message();
    return std::nullopt;
  }
  auto path = dir + "/tandemd.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "data dir " + dir + " is not writable: cannot open " + path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {};
    auto n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string{"?"};
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' '))
      holder.pop_back();
    ::close(fd);
    if (err == EWOULDBLOCK)
      *error = "data dir " + dir + " is in use by another tandemd (pid " + holder + ")";
    else
      *error = "cannot lock " + path + ": " + std::strerror(err);
    return std::nullopt;
  }
  auto pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    *error = "data dir " + dir + " is not writable: cannot write " + path + ": " + std::strerror(errno);
    ::close(fd);
    return std::nullopt;
  }
  return data_dir_lock{fd};
}

data_dir_lock::~data_dir_lock() {
  if (fd_ >= 0)
    ::close(fd_); // releases the flock
}

std::optional<bound_socket> bind_listener(const std::string& role, const config::listener_config& l,
                                          int backlog, std::string* error) {
  auto where = role + " listener " + l.address + ":" + std::to_string(l.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  auto port = std::to_string(l.port);
  if (int rc = ::getaddrinfo(l.address.c_str(), port.c_str(), &hints, &res); rc != 0) {
    *error = "cannot resolve " + where + ": " + ::gai_strerror(rc);
    return std::nullopt;
  }
  std::string last_error = "no usable address";
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, backlog) != 0) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    std::uint16_t bound_port = l.port;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
      if (ss.ss_family == AF_INET)
        bound_port = ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
      else if (ss.ss_family == AF_INET6)
        bound_port = ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    }
    ::freeaddrinfo(res);
    return bound_socket{role, l.address, bound_port, fd};
  }
  ::freeaddrinfo(res);
  *error = "cannot bind " + where + ": " + last_error;
  return std::nullopt;
}

bool actor_exit_is_fatal(actor_exit how, bool shutting_down) {
  switch (how) {
    case actor_exit::unhandled_exception: return true;
    case actor_exit::shutdown:
    case actor_exit::normal: return false;
    case actor_exit::error: return !shutting_down;
  }
  return true;
}

bool test_crash_requested(std::string_view actor) {
#ifdef TANDEM_TEST_HOOKS
  const char* v = std::getenv("TANDEM_TEST_CRASH_ACTOR");
  return v != nullptr && actor == v;
#else
  (void)actor;
  return false;
#endif
}

std::string fatal_line(std::string_view actor_name, std::string_view what) {
  return "fatal: actor " + std::string(actor_name) + " died: " + std::string(what);
}

void die_fatally(std::string_view actor_name, std::string_view what) {
  log::error("tandemd", fatal_line(actor_name, what));
  std::fflush(stderr);
  std::_Exit(fatal_exit_code);
}

} // namespace tandem
