// The typed interfaces of the replication actors (actors/replication_messages.hpp,
// actors/subscription.hpp): one atom, one shape, and each fact fed by one owner. Checked at compile
// time with CAF's own type check (the one send() and request() use), so a message a receiver does
// not take cannot be written at all.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include <caf/check_typed_input.hpp>
#include <caf/response_type.hpp>

#include "actors/replication_messages.hpp"
#include "actors/subscription.hpp"

using namespace tandem;

namespace {

template <class Handle, class... Ts>
constexpr bool accepts =
  caf::response_type_unbox<caf::signatures_of_t<Handle>, caf::detail::type_list<Ts...>>::valid;

} // namespace

TEST_CASE("attach and detach have one shape each: link_attach/link_detach for links only") {
  using u64 = std::uint64_t;
  static_assert(accepts<destination_link_actor, atoms::link_attach, replication_connection_actor, std::string,
                        conn_direction, u64, std::string>);
  // The shape before issue 17 part 2 (no serving instance) is gone.
  static_assert(!accepts<destination_link_actor, atoms::link_attach, replication_connection_actor, std::string,
                         conn_direction, u64>);
  static_assert(accepts<destination_link_actor, atoms::link_detach, replication_connection_actor>);
  // The cycler's old one-argument shapes are gone; the cycler does not take the link's messages.
  static_assert(!accepts<cycler_actor, atoms::link_attach, replication_connection_actor, std::string,
                         conn_direction, u64, std::string>);
  static_assert(!accepts<cycler_actor, atoms::link_detach, replication_connection_actor>);
  static_assert(!accepts<destination_link_actor, atoms::link_attach, conn_direction>);
  CHECK(accepts<cycler_actor, atoms::inbound_use, bool>);
}

TEST_CASE("the supervisor hands a connection its destination's link at a failover: serve_link") {
  static_assert(accepts<replication_connection_actor, atoms::serve_link, caf::actor>);
  static_assert(!accepts<destination_link_actor, atoms::serve_link, caf::actor>);
  CHECK(accepts<replication_connection_actor, atoms::close_conn, std::string>);
}

TEST_CASE("the cycler hears about connections in the supervisor's words only") {
  static_assert(accepts<cycler_actor, atoms::dial_done, bool, std::string>);
  static_assert(accepts<cycler_actor, atoms::dial_ended>);
  static_assert(accepts<cycler_actor, atoms::inbound_use, bool>);
  // What a connection says goes to the supervisor (and its link), never to a cycler.
  static_assert(!accepts<cycler_actor, atoms::conn_down, std::string, replication_connection_actor, conn_direction,
                         std::string>);
  static_assert(accepts<supervisor_actor, atoms::conn_down, std::string, replication_connection_actor,
                        conn_direction, std::string>);
  CHECK(accepts<cycler_actor, atoms::dial_ended>);
}

TEST_CASE("a connection takes only what its link, the supervisor and the listener send it") {
  static_assert(accepts<replication_connection_actor, atoms::send_frame, logic::fanout_batch>);
  static_assert(accepts<replication_connection_actor, atoms::violation, std::string>);
  static_assert(accepts<replication_connection_actor, atoms::close_conn, std::string>);
  static_assert(accepts<replication_connection_actor, atoms::slot_evict, std::string>);
  static_assert(!accepts<replication_connection_actor, atoms::peer_ack, std::uint64_t>);
  static_assert(accepts<replication_listener_actor, atoms::slot_identified, replication_connection_actor, bool>);
  CHECK(accepts<replication_connection_actor, atoms::close_conn, std::string>);
}

TEST_CASE("subscriptions and the client listener") {
  static_assert(accepts<subscription_actor, atoms::credit>);
  static_assert(accepts<subscription_actor, atoms::durable, std::uint64_t, std::uint64_t>);
  static_assert(accepts<subscription_actor, atoms::persisted, std::uint64_t>);
  static_assert(accepts<client_listener_actor, atoms::deliver, caf::io::connection_handle, std::uint64_t, frame_bytes>);
  static_assert(accepts<client_listener_actor, atoms::sub_gap, std::uint64_t, std::uint64_t>);
  static_assert(!accepts<client_listener_actor, atoms::credit>);
  CHECK(accepts<subscription_actor, atoms::credit>);
}
