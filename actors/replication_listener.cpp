#include "actors/replication_listener.hpp"

#include <map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/instrumented_actor.hpp"
#include "actors/log.hpp"
#include "actors/logic/replication_slots.hpp"
#include "actors/replication_connection.hpp"

namespace tandem {

namespace {

struct listener_state {
  explicit listener_state(std::size_t max) : slots(max) {}
  std::shared_ptr<const replication_context> ctx; // dropped at exit (see the exit handler)
  // Forked connection brokers still running (they stop with the supervisor by themselves), and
  // the slots they hold (logic/replication_slots.hpp).
  std::map<caf::actor_addr, replication_connection_actor> live;
  logic::replication_slots<caf::actor_addr> slots;
};

const char* kind_name(logic::replication_slots<caf::actor_addr>::kind k) {
  using kind = logic::replication_slots<caf::actor_addr>::kind;
  return k == kind::unidentified ? "has not said hello" : k == kind::unconfigured ? "is not a configured destination"
                                                                                  : "is a configured destination";
}

caf::behavior replication_listener(instrumented<caf::io::broker>* self, int fd,
                                   std::shared_ptr<const replication_context> ctx, std::uint32_t max_connections) {
  self->bind_probe("replication-listener");
  auto st = std::make_shared<listener_state>(max_connections);
  st->ctx = std::move(ctx);
  self->add_doorman(fd);
  self->set_exit_handler([=](caf::exit_msg& msg) {
    st->ctx.reset(); // holds the journal actor and the supervisor: never outlive the node
    st->live.clear();
    self->quit(msg.reason);
  });
  self->set_down_handler([=](caf::down_msg& down) {
    st->live.erase(down.source);
    st->slots.gone(down.source);
  });
  return {
    [=](const caf::io::new_connection_msg& msg) {
      auto remote = self->remote_addr(msg.handle) + ":" + std::to_string(self->remote_port(msg.handle));
      if (!st->ctx)
        return;
      connection_args args;
      args.ctx = st->ctx;
      args.direction = conn_direction::inbound;
      args.remote_address = remote;
      args.listener = caf::actor_cast<replication_listener_actor>(self);
      if (st->ctx->replication_tls)
        args.tls = st->ctx->tls_context(); // the current one (rotated by SIGHUP)
      auto conn = caf::actor_cast<replication_connection_actor>(self->fork(replication_connection, msg.handle, std::move(args)));
      self->monitor(conn);
      auto admitted = st->slots.admit(conn.address());
      if (!admitted.admitted) {
        ++st->ctx->replication_admission->refused;
        log::warn("listener", "refusing replication connection from ", remote, ": all ", max_connections,
                  " slots (limits.max_replication_connections) hold configured destinations");
        self->send(conn, atoms::slot_evict::value,
                   "all " + std::to_string(max_connections) + " replication slots are in use");
        return;
      }
      st->live.emplace(conn.address(), conn);
      if (admitted.evict) {
        ++st->ctx->replication_admission->evicted;
        auto victim = st->live.find(*admitted.evict);
        log::warn("listener", "replication slots full (", max_connections,
                  "): closing the oldest connection that ", kind_name(admitted.evicted_kind), " to admit ", remote);
        if (victim != st->live.end())
          self->send(victim->second, atoms::slot_evict::value,
                     std::string{"replication slots full; evicted: the connection "} + kind_name(admitted.evicted_kind));
      }
    },
    // A connection identified its peer (configured: one of our destinations).
    [=](atoms::slot_identified, const replication_connection_actor& conn, bool configured) {
      st->slots.identified(conn.address(), configured);
    },
    [=](const caf::io::acceptor_closed_msg&) { log::error("listener", "replication listener closed by the system"); },
  };
}

} // namespace

replication_listener_actor spawn_replication_listener(caf::actor_system& sys, int listen_fd,
                                                      std::shared_ptr<const replication_context> ctx,
                                                      std::uint32_t max_connections) {
  return caf::actor_cast<replication_listener_actor>(
    sys.middleman().spawn_broker(replication_listener, listen_fd, std::move(ctx), max_connections));
}

} // namespace tandem
