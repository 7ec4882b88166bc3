// What tandemd does before the actor system exists, on the main thread, where blocking is fine:
// take the data directory's lock and bind the listeners. Each failure is one clear sentence for
// the operator; nothing is started when any of them fails.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/node_config.hpp"

namespace tandem {

// An exclusive, advisory lock on DATA_DIR/tandemd.lock (flock), held for the life of the process.
// Two tandemd processes can never open the same data directory: the second one is refused with
// the pid of the holder. The kernel drops the lock when the process dies, even on SIGKILL.
class data_dir_lock {
public:
  // Creates the directory (and parents) if needed. On failure returns nullopt and sets *error.
  static std::optional<data_dir_lock> acquire(const std::string& dir, std::string* error);

  data_dir_lock(data_dir_lock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  data_dir_lock& operator=(data_dir_lock&&) = delete;
  data_dir_lock(const data_dir_lock&) = delete;
  ~data_dir_lock();

private:
  explicit data_dir_lock(int fd) : fd_(fd) {}
  int fd_;
};

struct bound_socket {
  std::string role;    // "replication", "client", "admin"
  std::string address; // as configured
  std::uint16_t port = 0; // as bound (differs from the config when it asked for 0)
  int fd = -1;            // ownership passes to whoever adopts it (a CAF doorman)
};

// Binds (SO_REUSEADDR, CLOEXEC) to the listener's address and port and listens with `backlog`.
// On failure returns nullopt and sets *error,
// e.g. "cannot bind admin listener 127.0.0.1:27102: Address already in use".
std::optional<bound_socket> bind_listener(const std::string& role, const config::listener_config& l,
                                          int backlog, std::string* error);

} // namespace tandem
