#include "actors/timer_relay.hpp"

#include <caf/all.hpp>

#include "actors/instrumented_actor.hpp"

namespace tandem {

namespace {

using relay_atom = caf::atom_constant<caf::atom("trelay")>;

caf::behavior timer_relay(instrumented<caf::event_based_actor>* self) {
  self->bind_probe("timer-relay");
  return {
    [](relay_atom, const caf::actor_addr& target, const caf::message& msg) {
      if (auto t = caf::actor_cast<caf::actor>(target))
        caf::anon_send(t, msg);
    },
  };
}

} // namespace

caf::actor spawn_timer_relay(caf::actor_system& sys) { return sys.spawn<caf::lazy_init>(timer_relay); }

void arm_timer(const caf::actor& relay, std::chrono::milliseconds delay, const caf::actor_addr& target,
               caf::message msg) {
  caf::delayed_anon_send(relay, delay, relay_atom::value, target, std::move(msg));
}

} // namespace tandem
