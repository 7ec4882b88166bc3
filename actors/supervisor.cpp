#include "actors/supervisor.hpp"

#include <chrono>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/admin_server.hpp"
#include "actors/atoms.hpp"
#include "actors/journal_actor.hpp"
#include "actors/log.hpp"
#include "actors/node_status.hpp"

namespace tandem {

namespace {

struct supervisor_state {
  node_info info;
  caf::actor admin;
  journal_actor journal;
  static inline const char* name = "supervisor";
};

std::int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

caf::behavior supervisor(caf::stateful_actor<supervisor_state>* self, node_info info, node_resources res) {
  self->state.info = std::move(info);
  self->state.journal = spawn_journal_actor(self->system(), std::move(res.journal), std::move(res.recovery));
  self->link_to(self->state.journal);
  const auto& limits = self->state.info.config.limits;
  admin_limits al;
  al.max_connections = limits.max_admin_connections;
  al.request_timeout = std::chrono::milliseconds{limits.handshake_timeout_ms};
  self->state.admin = spawn_admin_server(self->system(), res.admin_fd,
                                         caf::actor_cast<caf::actor>(self), al);
  // Linked both ways: the supervisor's exit stops the admin broker, and an admin broker that dies
  // unexpectedly takes the node down loudly rather than leaving it without its admin endpoint.
  self->link_to(self->state.admin);
  log::info("supervisor", "node ", self->state.info.config.name, " running");
  return {
    [=](atoms::status) {
      auto rp = self->make_response_promise<std::string>();
      auto figures = [self] {
        runtime_figures now;
        now.now_unix_ms = unix_ms_now();
        now.running_actors = self->system().registry().running();
        now.scheduler_threads = self->system().scheduler().num_workers();
        return now;
      };
      self->request(self->state.journal, std::chrono::seconds{2}, atoms::status::value)
        .then([=](const std::string& journal_json) mutable {
                rp.deliver(node_status_json(self->state.info, figures(), journal_json));
              },
              [=](caf::error&) mutable { rp.deliver(node_status_json(self->state.info, figures(), "null")); });
      return rp;
    },
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, node_info info, node_resources resources) {
  return sys.spawn(supervisor, std::move(info), std::move(resources));
}

} // namespace tandem
