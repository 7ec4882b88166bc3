#include "actors/supervisor.hpp"

#include <chrono>
#include <map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/address_cycler_actor.hpp"
#include "actors/admin_server.hpp"
#include "actors/atoms.hpp"
#include "actors/client_listener.hpp"
#include "actors/destination_link.hpp"
#include "actors/journal_actor.hpp"
#include "actors/log.hpp"
#include "actors/logic/tie_break.hpp"
#include "actors/node_status.hpp"
#include "actors/replication_listener.hpp"
#include "actors/replication_messages.hpp"

namespace tandem {

namespace {

struct peer_connection {
  caf::actor conn;
  conn_direction direction = conn_direction::inbound;
  std::string remote_address;
};

struct destination_actors {
  caf::actor link;
  caf::actor cycler; // none for an accept-only destination
};

struct supervisor_state {
  node_info info;
  caf::actor admin;
  journal_actor journal;
  caf::actor replication_listener;
  caf::actor client_listener;
  std::shared_ptr<instance_groups> groups = std::make_shared<instance_groups>();
  std::map<std::string, destination_actors> destinations; // by destination instance name
  std::map<std::string, peer_connection> connections;     // by peer instance name: the one kept
  std::map<caf::actor_addr, std::pair<std::string, conn_direction>> replaced; // closed as duplicates, not yet down
  std::uint64_t duplicates_closed = 0;
  static inline const char* name = "supervisor";
};

using supervisor_self = caf::stateful_actor<supervisor_state>*;

std::int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// Collects the JSON status of the journal, every link and every cycler, then answers.
void answer_status(supervisor_self self, caf::response_promise rp) {
  auto& st = self->state;
  struct gather {
    std::string journal = "null";
    std::map<std::string, std::string> links, cyclers;
    std::size_t waiting = 0;
  };
  auto g = std::make_shared<gather>();
  g->waiting = 1 + st.destinations.size();
  for (const auto& [name, d] : st.destinations)
    if (d.cycler)
      ++g->waiting;
  auto done = [self, g, rp]() mutable {
    if (--g->waiting > 0)
      return;
    runtime_figures now;
    now.now_unix_ms = unix_ms_now();
    now.running_actors = self->system().registry().running();
    now.scheduler_threads = self->system().scheduler().num_workers();
    auto doc = nlohmann::ordered_json::parse(node_status_json(self->state.info, now, g->journal));
    for (auto& d : doc["destinations"]) {
      auto name = d["name"].get<std::string>();
      auto link = nlohmann::ordered_json::parse(g->links[name], nullptr, false);
      if (!link.is_discarded())
        for (auto& [k, v] : link.items())
          if (k != "destination")
            d[k] = v;
      if (auto it = self->state.connections.find(name); it != self->state.connections.end())
        d["shared_with_reverse_direction"] = true; // one connection carries both directions
      auto cyc = nlohmann::ordered_json::parse(g->cyclers.count(name) ? g->cyclers[name] : "null", nullptr, false);
      d["cycler"] = cyc.is_discarded() ? nlohmann::ordered_json{} : cyc;
    }
    auto conns = nlohmann::ordered_json::array();
    for (const auto& [peer, c] : self->state.connections)
      conns.push_back({{"peer", peer}, {"address", c.remote_address}, {"direction", to_string(c.direction)}});
    doc["replication_connections"] = conns;
    doc["duplicate_connections_closed"] = self->state.duplicates_closed;
    rp.deliver(doc.dump());
  };
  auto timeout = std::chrono::seconds{2};
  self->request(st.journal, timeout, atoms::status::value)
    .then([=](const std::string& j) mutable { g->journal = j; done(); }, [=](caf::error&) mutable { done(); });
  for (const auto& [name, d] : st.destinations) {
    auto n = name;
    self->request(d.link, timeout, atoms::status::value)
      .then([=](const std::string& j) mutable { g->links[n] = j; done(); }, [=](caf::error&) mutable { done(); });
    if (d.cycler)
      self->request(d.cycler, timeout, atoms::status::value)
        .then([=](const std::string& j) mutable { g->cyclers[n] = j; done(); }, [=](caf::error&) mutable { done(); });
  }
}

// A connection identified its peer. Keeps it, or closes it as a duplicate by the tie-break both
// nodes compute alike (see logic/tie_break.hpp). Returns whether to keep it and the link that
// should use it (none if the peer is not one of our destinations).
std::pair<bool, caf::actor> on_conn_hello(supervisor_self self, const std::string& peer, const std::string& group,
                                          conn_direction dir, caf::actor conn, const std::string& remote) {
  auto& st = self->state;
  st.groups->learn(peer, group);
  auto dest = st.destinations.find(peer);
  auto it = st.connections.find(peer);
  if (it != st.connections.end() && it->second.conn != conn) {
    bool keep_new;
    if (it->second.direction == dir)
      keep_new = true; // same direction twice: the peer reconnected; the old one is stale
    else
      keep_new = logic::keep(st.info.config.name, peer,
                             dir == conn_direction::outbound ? logic::dial_direction::outbound
                                                             : logic::dial_direction::inbound);
    ++st.duplicates_closed;
    if (!keep_new) {
      log::info("supervisor", "second connection with ", peer, " (", to_string(dir), ", ", remote,
                ") closed: keeping the ", to_string(it->second.direction), " one");
      return {false, caf::actor{}};
    }
    log::info("supervisor", "second connection with ", peer, ": keeping the ", to_string(dir), " one (", remote,
              "), closing the ", to_string(it->second.direction), " one");
    self->send(it->second.conn, atoms::close_conn::value, std::string{"duplicate connection; keeping the other one"});
    st.replaced[it->second.conn.address()] = {peer, it->second.direction};
  }
  st.connections[peer] = peer_connection{conn, dir, remote};
  if (dest == st.destinations.end())
    return {true, caf::actor{}};
  if (dir == conn_direction::inbound && dest->second.cycler)
    self->send(dest->second.cycler, atoms::attach::value, dir);
  return {true, dest->second.link};
}

caf::behavior supervisor(supervisor_self self, node_info info, node_resources res) {
  auto& st = self->state;
  st.info = std::move(info);
  const auto& cfg = st.info.config;
  journal_actor_options jo;
  for (const auto& d : cfg.destinations)
    jo.destinations.emplace_back(d.name, d.type == config::sync_type::sync);
  jo.inbound_positions_file = cfg.data_dir + "/inbound-positions.json";
  auto runtime = res.journal;
  st.journal = spawn_journal_actor(self->system(), std::move(res.journal), std::move(res.recovery), jo);
  self->link_to(st.journal);

  auto ctx = std::make_shared<replication_context>();
  ctx->name = cfg.name;
  ctx->group = cfg.group;
  ctx->supervisor = caf::actor_cast<caf::actor>(self);
  ctx->journal = st.journal;
  ctx->runtime = runtime;
  ctx->max_frame_bytes = cfg.limits.max_frame_bytes;
  ctx->handshake_timeout = std::chrono::milliseconds{cfg.limits.handshake_timeout_ms};
  std::shared_ptr<const replication_context> shared_ctx = ctx;

  for (const auto& d : cfg.destinations) {
    st.groups->learn(d.name, d.group);
    destination_actors a;
    a.link = spawn_destination_link(self->system(), shared_ctx, d, st.groups);
    self->link_to(a.link);
    if (!d.addresses.empty()) {
      a.cycler = spawn_address_cycler(self->system(), shared_ctx, d);
      self->link_to(a.cycler);
    }
    st.destinations[d.name] = a;
  }
  st.replication_listener = spawn_replication_listener(self->system(), res.replication_fd, shared_ctx,
                                                       cfg.limits.max_replication_connections);
  self->link_to(st.replication_listener);
  st.client_listener = spawn_client_listener(self->system(), res.client_fd, shared_ctx, cfg.limits.max_client_connections);
  self->link_to(st.client_listener);

  admin_limits al;
  al.max_connections = cfg.limits.max_admin_connections;
  al.request_timeout = std::chrono::milliseconds{cfg.limits.handshake_timeout_ms};
  st.admin = spawn_admin_server(self->system(), res.admin_fd, caf::actor_cast<caf::actor>(self), al);
  // Linked both ways: the supervisor's exit stops its children, and a child that dies
  // unexpectedly takes the node down loudly rather than leaving it half-working.
  self->link_to(st.admin);
  log::info("supervisor", "node ", cfg.name, " running with ", cfg.destinations.size(), " destination(s)");
  return {
    [=](atoms::status) {
      auto rp = self->make_response_promise();
      answer_status(self, rp);
      return rp;
    },
    [=](atoms::conn_hello, const std::string& peer, const std::string& group, conn_direction dir, caf::actor conn,
        const std::string& remote) -> caf::result<bool, caf::actor> {
      auto [keep, link] = on_conn_hello(self, peer, group, dir, std::move(conn), remote);
      return {keep, link};
    },
    [=](atoms::conn_down, const std::string& peer, const caf::actor& conn) {
      auto& s = self->state;
      std::optional<conn_direction> ended; // direction of a connection that was in use
      if (auto it = s.connections.find(peer); it != s.connections.end() && it->second.conn == conn) {
        ended = it->second.direction;
        s.connections.erase(it);
      } else if (auto r = s.replaced.find(conn.address()); r != s.replaced.end()) {
        ended = r->second.second;
        s.replaced.erase(r);
      }
      // The cycler learns when its own connection, or the inbound one it relied on, ends.
      auto dest = s.destinations.find(peer);
      if (ended && dest != s.destinations.end() && dest->second.cycler)
        self->send(dest->second.cycler, atoms::detach::value, *ended);
    },
  };
}

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, node_info info, node_resources resources) {
  return sys.spawn(supervisor, std::move(info), std::move(resources));
}

} // namespace tandem
