// Test support for integration tests: real processes, temp dirs, free ports and bounded waits.
// Everything cleans up in its destructor, so a failing CHECK never leaks a node or a directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace tandem::test {

using namespace std::chrono_literals;

// A fresh directory under $TMPDIR (or /tmp), removed recursively on destruction.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago, below the kernel's ephemeral port range.
std::uint16_t free_port();

// Polls `condition` every `interval` until it holds or `timeout` passes; returns whether it held.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = 10ms);

// A child process with stdout and stderr captured to files in `log_dir`. The destructor SIGKILLs
// and reaps it if it still runs.
class child_process {
public:
  child_process(const std::vector<std::string>& argv, const std::string& cwd, const std::string& log_dir);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Exit code (128 + signal number if killed by a signal), or nullopt if still running at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  std::string stdout_text() const;
  std::string stderr_text() const;
  // SIGTERM, then waits up to `timeout` for the exit: the exit code, or -1 if it did not end in
  // time. A non-zero code prints the last lines of the process's stderr to the test's stderr
  // (CTest shows it on failure), so an abort at shutdown comes with the node's own last words.
  int terminate(const std::string& name, std::chrono::milliseconds timeout = 5s);

private:
  void reap(int status);
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string out_path_, err_path_;
};

struct run_result {
  int exit_code = -1; // -1: did not finish before the timeout (it was killed)
  std::string out, err;
};

// Runs a command to completion (bounded by `timeout`) and captures its output.
run_result run(const std::vector<std::string>& argv, const std::string& cwd = ".",
               std::chrono::milliseconds timeout = 30s);

// A blocking TCP connection to 127.0.0.1:port (-1 if refused).
int connect_loopback(std::uint16_t port);
// Reads until the peer closes (returns everything read) or the deadline passes (nullopt).
std::optional<std::string> read_until_closed(int fd, std::chrono::milliseconds timeout);
// connect_loopback + send `bytes` + read_until_closed + close; nullopt if refused or timed out.
std::optional<std::string> poke(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout);

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);

// Paths of the built binaries.
std::string tandemd_path();
std::string tandem_cli_path();

} // namespace tandem::test
