#include "actors/login_worker.hpp"

#include <memory>
#include <string>

#include <caf/all.hpp>

#include "config/users_file.hpp"

namespace tandem {

namespace {

caf::behavior login_worker(caf::event_based_actor*) {
  return {
    [](login_check, const std::shared_ptr<const config::users_table>& users, const std::string& user,
       const std::string& password) -> std::uint8_t {
      return static_cast<std::uint8_t>(users->check_login(user, password));
    },
  };
}

} // namespace

caf::actor spawn_login_worker(caf::actor_system& sys) {
  return sys.spawn<caf::detached>(login_worker);
}

} // namespace tandem
