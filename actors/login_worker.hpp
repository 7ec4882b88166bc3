// The client listener's password checks (issue 18): scrypt costs ~50 ms by design, so it runs on
// a detached actor (its own thread), never on the I/O thread the brokers share or a scheduler
// thread. One worker per listener: logins queue in its mailbox, and the listener bounds how
// many may wait (max_pending_logins) so a flood costs queue slots, not threads.
//
//   (login_check, users, user, password) -> std::uint8_t: a config::login_result
#pragma once

#include <cstddef>
#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>

#include "actors/atoms.hpp"
#include "config/users_file.hpp"

namespace tandem {

using login_check = caf::atom_constant<caf::atom("loginchk")>;

inline constexpr std::size_t max_pending_logins = 64;

caf::actor spawn_login_worker(caf::actor_system& sys);

} // namespace tandem

// Local messages only (never serialized): the table is shared, immutable, between threads.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<const tandem::config::users_table>)
