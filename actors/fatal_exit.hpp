// Fail fast in CAF terms: the policy itself (which exits are fatal) is the plain function
// actor_exit_is_fatal() in actors/startup.hpp; this header maps CAF's exit reasons onto it and
// installs it on an actor. tandemd's supervisor and the actors it owns use these, and tandemd
// itself monitors the supervisor (tools/tandemd.cpp).
//
//   fail_fast_on_exception(self, "journal")  an exception escaping any handler of `self` logs
//                                            "fatal: actor journal died: unhandled exception: WHAT"
//                                            and exits 70 from the throwing thread, at once.
//   fail_fast_on_child_exit(self)            the supervisor's exit handler: a linked child that
//                                            ends abnormally is fatal (named by the child's
//                                            state name); user_shutdown stops the supervisor.
#pragma once

#include <cstdlib>
#include <exception>
#include <string>

#include <caf/all.hpp>

#include "actors/startup.hpp"

namespace tandem {

inline actor_exit to_actor_exit(const caf::error& reason) {
  if (!reason)
    return actor_exit::normal;
  if (reason == caf::exit_reason::user_shutdown)
    return actor_exit::shutdown;
  // CAF's default exception handler ends an actor with sec::runtime_error.
  if (reason == caf::exit_reason::unhandled_exception || reason == caf::sec::runtime_error)
    return actor_exit::unhandled_exception;
  return actor_exit::error;
}

inline std::string describe_exception(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return std::string("unhandled exception: ") + x.what();
  } catch (...) {
    return "unhandled exception of a type not derived from std::exception";
  }
}

// The name an actor's state gives it ("journal", "supervisor", ...), or "actor #ID".
inline std::string actor_name_of(const caf::actor_addr& addr) {
  if (auto p = caf::actor_cast<caf::strong_actor_ptr>(addr))
    if (auto* m = dynamic_cast<caf::monitorable_actor*>(p->get()))
      return m->name();
  return "actor #" + std::to_string(addr.id());
}

template <class Self>
void fail_fast_on_exception(Self* self, std::string name) {
  self->set_exception_handler([name](caf::scheduled_actor*, std::exception_ptr& e) -> caf::error {
    die_fatally(name, describe_exception(e));
  });
}

// For the supervisor: replaces CAF's default exit handler (which quits with any non-normal reason
// and ignores normal ones) with one that dies fatally when a linked child fails.
template <class Self>
void fail_fast_on_child_exit(Self* self) {
  self->set_exit_handler([self](caf::exit_msg& msg) {
    const auto how = to_actor_exit(msg.reason);
    if (how == actor_exit::shutdown) {
      self->quit(msg.reason);
      return;
    }
    if (actor_exit_is_fatal(how, false))
      die_fatally(actor_name_of(msg.source), self->system().render(msg.reason));
  });
}

} // namespace tandem
