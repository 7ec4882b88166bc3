// What tandemd does before the actor system exists, on the main thread, where blocking is fine:
// take the data directory's lock and bind the listeners. Each failure is one clear sentence for
// the operator; nothing is started when any of them fails.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

// Fail fast (issue 14, defect 8): a long-lived actor that dies for any reason but the node's own
// shutdown leaves a node that is no longer whole (listeners closed, journal gone) while the
// process lives on. tandemd then logs "fatal: actor NAME died: WHAT" and exits at once with
// fatal_exit_code, so a supervisor (systemd, Kubernetes) restarts it; nothing is flushed or shut
// down in order, because the journal already made durable everything that was acknowledged.

// How an actor ended, in the terms the policy needs (CAF's exit reasons are mapped onto these by
// actors/fatal_exit.hpp).
enum class actor_exit {
  normal,              // finished its work (exit_reason::normal)
  shutdown,            // told to stop (exit_reason::user_shutdown), e.g. by SIGTERM
  unhandled_exception, // an exception escaped a message handler
  error,               // any other exit reason: killed, an error it quit with, a failed link
};

// The policy: which exits are fatal. Every unhandled exception is (even during shutdown: a
// handler threw); a shutdown or normal exit never is (CAF ignores a linked actor's normal exit);
// any other reason is, unless the node is already shutting down.
bool actor_exit_is_fatal(actor_exit how, bool shutting_down);

// Test-only fault hook: true when tandemd was built with TANDEM_TEST_HOOKS (a CMake option, on
// for development builds, off for release packages) and the environment variable
// TANDEM_TEST_CRASH_ACTOR names `actor`; then that actor throws soon after it starts, so the
// integration test can watch the node die fast. Always false in a build without the option.
bool test_crash_requested(std::string_view actor);

// EX_SOFTWARE from sysexits.h: "an internal software error has been detected".
inline constexpr int fatal_exit_code = 70;

// "fatal: actor NAME died: WHAT" -- the one line logged before exiting.
std::string fatal_line(std::string_view actor_name, std::string_view what);

// Logs fatal_line() at error level, flushes stderr and ends the process with std::_Exit(
// fatal_exit_code): no destructors, no atexit handlers, no waiting for other actors.
[[noreturn]] void die_fatally(std::string_view actor_name, std::string_view what);

} // namespace tandem
