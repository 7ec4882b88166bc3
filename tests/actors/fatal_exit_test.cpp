// The fail-fast policy (actors/startup.hpp) and its CAF mapping (actors/fatal_exit.hpp). The
// process exit itself is exercised against a real tandemd in tests/tools/fatal_exit_test.cpp.
#include <doctest/doctest.h>

#include <stdexcept>

#include "actors/fatal_exit.hpp"
#include "actors/startup.hpp"

using namespace tandem;

TEST_CASE("fail-fast policy: which actor exits end the process") {
  for (bool shutting_down : {false, true}) {
    CAPTURE(shutting_down);
    CHECK(actor_exit_is_fatal(actor_exit::unhandled_exception, shutting_down)); // a handler threw
    CHECK_FALSE(actor_exit_is_fatal(actor_exit::shutdown, shutting_down));      // we asked for it
    CHECK_FALSE(actor_exit_is_fatal(actor_exit::normal, shutting_down));        // CAF ignores it on links
  }
  CHECK(actor_exit_is_fatal(actor_exit::error, false));       // killed, quit with an error, a failed link
  CHECK_FALSE(actor_exit_is_fatal(actor_exit::error, true));  // part of stopping the node
  CHECK(fatal_exit_code == 70);
}

TEST_CASE("fail-fast policy: CAF exit reasons map onto it") {
  CHECK(to_actor_exit(caf::error{}) == actor_exit::normal);
  CHECK(to_actor_exit(caf::make_error(caf::exit_reason::normal)) == actor_exit::normal);
  CHECK(to_actor_exit(caf::make_error(caf::exit_reason::user_shutdown)) == actor_exit::shutdown);
  CHECK(to_actor_exit(caf::make_error(caf::exit_reason::unhandled_exception)) == actor_exit::unhandled_exception);
  // What CAF's default exception handler ends an actor with.
  CHECK(to_actor_exit(caf::make_error(caf::sec::runtime_error)) == actor_exit::unhandled_exception);
  CHECK(to_actor_exit(caf::make_error(caf::exit_reason::kill)) == actor_exit::error);
  CHECK(to_actor_exit(caf::make_error(caf::exit_reason::unreachable)) == actor_exit::error);
  CHECK(to_actor_exit(caf::make_error(caf::sec::request_timeout)) == actor_exit::error);
}

TEST_CASE("fail-fast policy: the fatal line names the actor and what killed it") {
  CHECK(fatal_line("journal", "unhandled exception: boom") == "fatal: actor journal died: unhandled exception: boom");
  std::exception_ptr e;
  try {
    throw std::runtime_error("[json.exception.type_error.316] invalid UTF-8 byte");
  } catch (...) {
    e = std::current_exception();
  }
  CHECK(describe_exception(e) == "unhandled exception: [json.exception.type_error.316] invalid UTF-8 byte");
  try {
    throw 42;
  } catch (...) {
    e = std::current_exception();
  }
  CHECK(describe_exception(e) == "unhandled exception of a type not derived from std::exception");
  CHECK(test_crash_requested("no-such-actor") == false);
}
