// Captures what this process writes to file descriptor 2 (Tandem's log: actors/log.hpp writes
// each line with one write(2) there) between construction and text(). For tests that check a
// line is logged; restores the old stderr on text() and on destruction. Not for concurrent use.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace tandem::test {

class stderr_capture {
public:
  stderr_capture() {
    char name[] = "/tmp/tandem-stderr-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) throw std::runtime_error("stderr_capture: mkstemp failed");
    path_ = name;
    std::fflush(stderr);
    saved_ = ::dup(2);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~stderr_capture() {
    restore();
    ::unlink(path_.c_str());
  }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;

  // Stops capturing and gives everything written meanwhile.
  std::string text() {
    restore();
    std::ifstream in(path_);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

  std::string path_;
  int saved_ = -1;
};

} // namespace tandem::test
