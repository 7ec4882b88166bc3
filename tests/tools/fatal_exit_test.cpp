// Fail fast (issue 14, defect 8): an actor of a real tandemd that dies from an unhandled exception
// makes the process log "fatal: actor NAME died: WHAT" and exit 70 at once, instead of living on
// with its listeners closed. The failure is provoked by the test-only hook TANDEM_TEST_CRASH_ACTOR
// (compiled in only with the TANDEM_TEST_HOOKS CMake option; this file is built only then).
#include <chrono>
#include <cstdlib>

#include <doctest/doctest.h>

#include "tests/tools/node_fixture.hpp"

using namespace tandem::test;
using namespace std::chrono_literals;

TEST_CASE("an actor that dies from an unhandled exception makes tandemd log it and exit non-zero at once") {
  temp_dir dir;
  node_ports ports;
  ::setenv("TANDEM_TEST_CRASH_ACTOR", "journal", 1); // inherited by the child only
  child_process node{tandemd_args(ports), dir.path(), dir.path()};
  ::unsetenv("TANDEM_TEST_CRASH_ACTOR");
  // The journal actor throws at its first retention pass, about 1 s after start; the deadline is
  // generous for a loaded machine, and the process must end by itself (no signal is sent).
  const auto code = node.wait_exit(30s);
  REQUIRE_MESSAGE(code.has_value(), "tandemd still running 30 s after its journal actor died");
  CHECK(*code == 70);
  const auto err = node.stderr_text();
  INFO(err);
  CHECK(err.find("started") != std::string::npos); // it died at run time, not at startup
  CHECK(err.find("fatal: actor journal died: unhandled exception: test hook TANDEM_TEST_CRASH_ACTOR=journal") !=
        std::string::npos);
  CHECK(err.find("stopped cleanly") == std::string::npos);
}
