// Timers for brokers that do not keep the broker alive.
//
// A delayed_send holds a strong reference to its receiver (and to its sender) until it fires,
// and CAF 0.17 cannot cancel it. A broker that quit with a timer pending therefore lingers, with
// its mailbox, until the timer fires -- at shutdown, never: the clock stops first. Messages from
// detached actors (subscriptions, the journal, journal readers) waiting in such a mailbox keep those actors
// alive too, and the actor system waits for every detached actor to be destroyed. So brokers arm
// their timers here instead: the relay holds only the broker's address and forwards the message
// if the broker still exists. For the same reason brokers ask with caf::infinite, never with a
// timeout: CAF 0.17 delivers a request timeout as a message whose sender is the requester, never
// cancels it, and a broker's cleanup does not drain its mailbox, so a broker that quits with one
// queued holds itself and is never destroyed (tests/actors/broker_request_timeout_test.cpp); the
// deadline is a relay timer of the broker's own.
#pragma once

#include <chrono>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/fwd.hpp>
#include <caf/message.hpp>

namespace tandem {

caf::actor spawn_timer_relay(caf::actor_system& sys);

// Delivers `msg` to `target` after `delay`, anonymously, unless `target` is gone by then.
void arm_timer(const caf::actor& relay, std::chrono::milliseconds delay, const caf::actor_addr& target,
               caf::message msg);

} // namespace tandem
