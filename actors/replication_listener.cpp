#include "actors/replication_listener.hpp"

#include <unordered_set>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/instrumented_actor.hpp"
#include "actors/log.hpp"
#include "actors/replication_connection.hpp"

namespace tandem {

namespace {

struct listener_state {
  std::shared_ptr<const replication_context> ctx; // dropped at exit (see the exit handler)
  // Forked connection brokers still running (they stop with the supervisor by themselves).
  std::unordered_set<caf::actor_addr> live;
};

caf::behavior replication_listener(instrumented<caf::io::broker>* self, int fd,
                                   std::shared_ptr<const replication_context> ctx, std::uint32_t max_connections) {
  self->bind_probe("replication-listener");
  auto st = std::make_shared<listener_state>();
  st->ctx = std::move(ctx);
  self->add_doorman(fd);
  self->set_exit_handler([=](caf::exit_msg& msg) {
    st->ctx.reset(); // holds the journal actor and the supervisor: never outlive the node
    self->quit(msg.reason);
  });
  self->set_down_handler([=](caf::down_msg& down) { st->live.erase(down.source); });
  return {
    [=](const caf::io::new_connection_msg& msg) {
      auto remote = self->remote_addr(msg.handle) + ":" + std::to_string(self->remote_port(msg.handle));
      if (st->live.size() >= max_connections) {
        log::warn("listener", "refusing replication connection from ", remote, ": ", max_connections,
                  " connections open");
        self->close(msg.handle);
        return;
      }
      connection_args args;
      if (!st->ctx)
        return;
      args.ctx = st->ctx;
      args.direction = conn_direction::inbound;
      args.remote_address = remote;
      auto conn = self->fork(replication_connection, msg.handle, std::move(args));
      self->monitor(conn);
      st->live.insert(conn.address());
    },
    [=](const caf::io::acceptor_closed_msg&) { log::error("listener", "replication listener closed by the system"); },
  };
}

} // namespace

caf::actor spawn_replication_listener(caf::actor_system& sys, int listen_fd,
                                      std::shared_ptr<const replication_context> ctx, std::uint32_t max_connections) {
  return sys.middleman().spawn_broker(replication_listener, listen_fd, std::move(ctx), max_connections);
}

} // namespace tandem
