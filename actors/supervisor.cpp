#include "actors/supervisor.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <functional>
#include <memory>
#include <map>
#include <set>
#include <optional>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/address_cycler_actor.hpp"
#include "actors/admin_server.hpp"
#include "actors/atoms.hpp"
#include "actors/instrumented_actor.hpp"
#include "actors/client_listener.hpp"
#include "actors/config_loader.hpp"
#include "actors/destination_link.hpp"
#include "actors/digest_scanner.hpp"
#include "actors/fatal_exit.hpp"
#include "actors/journal_actor.hpp"
#include "actors/journal_reader.hpp"
#include "actors/logic/link_window.hpp"
#include "actors/log.hpp"
#include "actors/metrics/live_metrics.hpp"
#include "actors/logic/connection_registry.hpp"
#include "actors/logic/identity_conflicts.hpp"
#include "actors/logic/serving_instances.hpp"
#include "actors/node_metrics.hpp"
#include "actors/node_status.hpp"
#include "actors/replication_listener.hpp"
#include "actors/replication_messages.hpp"
#include "actors/timer_relay.hpp"
#include "config/reload.hpp"
#include "journal/instance_id.hpp"

namespace tandem {

namespace {

struct destination_actors {
  destination_link_actor link;
  cycler_actor cycler; // none for an accept-only destination
};

struct supervisor_state {
  node_info info;
  caf::actor admin;
  journal_actor journal;
  replication_listener_actor replication_listener;
  client_listener_actor client_listener;
  std::shared_ptr<instance_groups> groups = std::make_shared<instance_groups>();
  std::set<std::string> configured_groups; // destinations: their group comes from the config
  std::map<std::string, destination_actors> destinations; // by destination instance name
  std::optional<logic::connection_registry<replication_connection_actor>> connections; // one in use per peer
  logic::serving_instances serving; // per destination: which connected instance its link uses
  logic::identity_conflicts identity_conflicts; // peers refused: another node with their name is connected
  std::shared_ptr<logic::identity_refusals> identity_refusals; // peers that refused us (the context's)
  std::shared_ptr<logic::validation_board> validations;         // replication validation results (the context's)
  std::shared_ptr<tls::context_holder> tls;                      // the node's TLS context (issue 18; null: none)
  std::shared_ptr<tls_refusal_counters> tls_refusals;            // the context's
  std::map<caf::actor_addr, std::string> remote_addresses;            // of connections in use, for status
  std::map<std::string, bool> cycler_told_inbound; // per destination name: what its cycler last heard
  std::set<caf::actor_addr> cycler_told_kept;       // outbound connections their cycler heard dial_done(true) of
  std::unique_ptr<node_metrics> metrics = std::make_unique<node_metrics>(); // GET /metrics, fed from the status
  config::config_source config_source;                  // what a live reload reads again
  std::shared_ptr<const replication_context> ctx;       // for the links and cyclers a live reload starts
  std::map<std::string, std::uint64_t> reloads;         // per reload_result, for /status
  std::string last_reload;                              // its summary line, for /status
  // Reloads are coalesced: one loader at a time. Requests that arrive while one reads wait for
  // the next read (the file may have changed after the running one began), which serves them all.
  using reload_promise = caf::typed_response_promise<std::string>;
  std::optional<std::vector<reload_promise>> reload_running; // the requests the running read answers
  std::vector<reload_promise> reload_next;                   // the requests of the next read
  static inline const char* name = "supervisor";
};

using supervisor_self = instrumented<caf::stateful_actor<supervisor_state, supervisor_actor::base>>*;

conn_direction to_conn(logic::dial_direction d) {
  return d == logic::dial_direction::outbound ? conn_direction::outbound : conn_direction::inbound;
}

// The instances that may serve a destination (config destinations[i].instances; {name} when a
// config built in code left it empty).
std::vector<std::string> configured_instances(const config::node_config& cfg, const std::string& destination) {
  for (const auto& d : cfg.destinations)
    if (d.name == destination)
      return d.instances.empty() ? std::vector<std::string>{d.name} : d.instances;
  return {};
}

void add_serving_status(supervisor_self self, const std::string& name, nlohmann::ordered_json& d);
void add_validation_status(supervisor_self self, const std::string& name, nlohmann::ordered_json& d);

// /status "identity_conflicts": per instance name refused because another node with that name
// (and another instance id) is connected.
// /status "tls" (issue 18): the node's certificate expiry and the refusals TLS caused; null when the
// node has no `tls` section.
// Follows the holder: after a rotation, the new certificate's figures.
nlohmann::ordered_json tls_status(const std::shared_ptr<tls::context_holder>& holder, const tls_refusal_counters& r,
                                  const config::node_config& cfg) {
  if (!holder)
    return nullptr;
  const auto tls = holder->current();
  const auto rot = holder->status();
  const auto now_s = unix_ms_now() / 1000;
  return {{"certificate_expires_unix", tls->own().not_after_unix},
          {"seconds_until_expiry", tls->seconds_until_expiry(now_s)},
          {"subject", tls->own().subject},
          {"serial", tls->own().serial},
          {"replication_listener", cfg.replication.tls},
          {"admin_listener", cfg.admin.tls},
          {"client_listener", cfg.client.tls},
          {"client_certificate_required", cfg.client.tls_require_client_cert},
          {"allow_tls12", cfg.tls.allow_tls12},
          {"refusals", {{"handshake", r.handshake.load()}, {"identity", r.identity.load()}}},
          {"rotations", {{"rotated", rot.rotated}, {"unchanged", rot.unchanged}, {"refused", rot.refused}}},
          {"last_rotation", rot.attempted ? nlohmann::ordered_json{{"result", tls::to_string(rot.last)},
                                                                   {"unix", rot.last_unix},
                                                                   {"last_error", rot.last_error}}
                                          : nlohmann::ordered_json{}}};
}

// Whether a replication connection speaks TLS: a dialed one when its destination says so, an
// accepted one when the replication listener does.
bool connection_tls(const config::node_config& cfg, const std::string& peer, bool dialed) {
  if (!dialed)
    return cfg.replication.tls;
  for (const auto& d : cfg.destinations)
    if (std::find(d.instances.begin(), d.instances.end(), peer) != d.instances.end())
      return d.tls;
  return false;
}

nlohmann::ordered_json identity_conflicts_json(const logic::identity_conflicts& c) {
  auto names = nlohmann::ordered_json::object();
  for (const auto& [name, e] : c.by_name())
    names[name] = {{"kept_instance_id", e.kept_id},       {"kept_address", e.kept_address},
                   {"refused_instance_id", e.refused_id}, {"refused_address", e.refused_address},
                   {"refused", e.count},                  {"first_unix_ms", e.first_unix_ms},
                   {"last_unix_ms", e.last_unix_ms}};
  return {{"refused_total", c.total()}, {"by_name", names}};
}

// /status "replication_connections": one entry per connection in use.
nlohmann::ordered_json replication_connections_json(supervisor_self self) {
  auto& st = self->state;
  auto conns = nlohmann::ordered_json::array();
  st.connections->for_each([&](const std::string& peer, const replication_connection_actor& c,
                               logic::dial_direction dir) {
    const auto& address = st.remote_addresses[c.address()];
    conns.push_back({{"peer", peer},
                     {"address", address},
                     {"direction", dir == logic::dial_direction::outbound ? "dialed" : "accepted"},
                     {"instance_id", journal::id_to_hex(st.connections->id_of(peer))},
                     {"tls", connection_tls(st.info.config, peer, dir == logic::dial_direction::outbound)},
                     {"tls_version", st.tls_refusals->version_of(address)}});
  });
  return conns;
}

// Collects the JSON status of the journal, the client listener, every link and every cycler,
// then calls `answer` with the whole document (once, on the supervisor's thread). A part that
// does not answer within the timeout is left out (null), so the answer always comes.
void gather_status(supervisor_self self, std::function<void(nlohmann::ordered_json)> answer) {
  auto& st = self->state;
  struct gather {
    std::string journal = "null";
    std::string clients = "null";
    std::map<std::string, std::string> links, cyclers;
    std::size_t waiting = 0;
  };
  auto g = std::make_shared<gather>();
  g->waiting = 2 + st.destinations.size();
  for (const auto& [name, d] : st.destinations)
    if (d.cycler)
      ++g->waiting;
  auto done = [self, g, answer] {
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
      // One connection carries both directions: the link uses whatever connection is in use
      // with the serving instance, whoever dialed it.
      add_serving_status(self, name, d);
      add_validation_status(self, name, d);
      auto cyc = nlohmann::ordered_json::parse(g->cyclers.count(name) ? g->cyclers[name] : "null", nullptr, false);
      d["cycler"] = cyc.is_discarded() ? nlohmann::ordered_json{} : cyc;
    }
    doc["destinations_summary"] = destinations_summary(doc["destinations"]);
    doc["replication_connections"] = replication_connections_json(self);
    doc["duplicate_connections_closed"] = self->state.connections->duplicates_closed();
    doc["identity_conflicts"] = identity_conflicts_json(self->state.identity_conflicts);
    doc["identity_conflicts"]["refused_by_peers_total"] = self->state.identity_refusals->total();
    doc["tls"] = tls_status(self->state.tls, *self->state.tls_refusals, self->state.info.config);
    doc["config_reloads"] = {{"by_result", self->state.reloads}, {"last", self->state.last_reload}};
    auto clients = nlohmann::ordered_json::parse(g->clients, nullptr, false);
    doc["client_listener"] = clients.is_discarded() ? nlohmann::ordered_json{} : clients;
    // Observed rather than mirrored (metrics.enabled): per-actor figures and latencies.
    auto& live = metrics::live_metrics::instance();
    doc["metrics_enabled"] = live.enabled();
    if (live.enabled()) {
      auto actors = nlohmann::ordered_json::parse(live.actors_json().dump());
      for (auto& [k, v] : actors.items())
        doc["actors"][k] = v;
      doc["latencies"] = nlohmann::ordered_json::parse(live.latencies_json().dump());
    }
    answer(std::move(doc));
  };
  auto timeout = std::chrono::seconds{2};
  self->request(st.journal, timeout, atoms::status::value)
    .then([=](const std::string& j) { g->journal = j; done(); }, [=](caf::error&) { done(); });
  self->request(st.client_listener, timeout, atoms::status::value)
    .then([=](const std::string& j) { g->clients = j; done(); }, [=](caf::error&) { done(); });
  for (const auto& [name, d] : st.destinations) {
    auto n = name;
    self->request(d.link, timeout, atoms::status::value)
      .then([=](const std::string& j) { g->links[n] = j; done(); }, [=](caf::error&) { done(); });
    if (d.cycler)
      self->request(d.cycler, timeout, atoms::status::value)
        .then([=](const std::string& j) { g->cyclers[n] = j; done(); }, [=](caf::error&) { done(); });
  }
}

// /status per destination (issue 17 part 2): which instance serves it and at what address, and
// every instance that may serve it with the state of its connection.
void add_serving_status(supervisor_self self, const std::string& name, nlohmann::ordered_json& d) {
  auto& st = self->state;
  const auto serving = st.serving.serving(name);
  auto conn = serving ? st.connections->current(*serving) : std::nullopt;
  d["shared_with_reverse_direction"] = conn.has_value();
  d["serving_instance"] = serving.value_or("");
  d["serving_address"] = conn ? st.remote_addresses[conn->first.address()] : std::string{};
  d["failovers"] = st.serving.failovers(name);
  auto instances = nlohmann::ordered_json::array();
  for (const auto& instance : configured_instances(st.info.config, name)) {
    auto c = st.connections->current(instance);
    instances.push_back({{"instance", instance},
                         {"connected", c.has_value()},
                         {"serving", serving == instance},
                         {"direction", c ? to_string(to_conn(c->second)) : ""},
                         {"address", c ? st.remote_addresses[c->first.address()] : std::string{}}});
  }
  d["instances"] = std::move(instances);
}

// /status per destination (issue 17 part 3): the latest replication validation with an instance
// of it, plus the identity check (part 1): an instance of it refused as an identity conflict.
void add_validation_status(supervisor_self self, const std::string& name, nlohmann::ordered_json& d) {
  auto& st = self->state;
  const auto entry = st.validations ? st.validations->latest(name) : std::nullopt;
  auto problems = nlohmann::ordered_json::array();
  for (const auto& p : entry ? entry->problems : std::vector<logic::validation_problem>{})
    problems.push_back({{"check", p.check}, {"mine", p.mine}, {"theirs", p.theirs}});
  for (const auto& instance : configured_instances(st.info.config, name))
    if (auto c = st.identity_conflicts.by_name().find(instance); c != st.identity_conflicts.by_name().end())
      problems.push_back({{"check", "identity"},
                          {"mine", c->second.kept_id + " at " + c->second.kept_address},
                          {"theirs", c->second.refused_id + " at " + c->second.refused_address}});
  const char* verdict = !entry                                                 ? "pending"
                        : !entry->performed                                    ? "not_performed"
                        : entry->verdict == logic::validation_verdict::refuse ? "refused"
                        : entry->verdict == logic::validation_verdict::warn   ? "warned"
                                                                               : "ok";
  const std::string refused_by_peer = entry ? entry->refused_by_peer : std::string{};
  if (!refused_by_peer.empty())
    verdict = "refused_by_peer";
  d["validation"] = {{"ok", problems.empty() && refused_by_peer.empty()},
                     {"result", verdict},
                     {"instance", entry ? entry->instance : std::string{}},
                     {"unix_ms", entry ? entry->unix_ms : 0},
                     {"problems", std::move(problems)},
                     {"refused_by_peer", refused_by_peer}};
}

logic::dial_direction to_dial(conn_direction d) {
  return d == conn_direction::outbound ? logic::dial_direction::outbound : logic::dial_direction::inbound;
}

cycler_actor cycler_of(supervisor_self self, const std::string& destination) {
  auto dest = self->state.destinations.find(destination);
  return dest == self->state.destinations.end() ? cycler_actor{} : dest->second.cycler;
}

// The destination a peer belongs to: the one listing the instance, or -- for a dial that ended
// before the peer's hello, reported by the destination's name -- that destination. nullptr: none.
// (config/destinations.cpp keeps the two apart: no instance is another destination's name.)
const std::string* destination_for(supervisor_self self, const std::string& peer) {
  auto& st = self->state;
  if (const auto* d = st.serving.destination_of(peer))
    return d;
  auto it = st.destinations.find(peer);
  return it == st.destinations.end() ? nullptr : &it->first;
}

// The one owner of what a destination's cycler knows about inbound connections: after every
// change of the registry, the cycler is told whether an inbound connection from ANY instance of
// its destination is in use now (only when that changed). Derived from the registry's state, never
// from a single event's direction: a replaced connection closing changes nothing
// (connection_registry.hpp).
void feed_cycler(supervisor_self self, const std::string& destination) {
  auto& st = self->state;
  auto cycler = cycler_of(self, destination);
  if (!cycler)
    return;
  const auto instances = configured_instances(st.info.config, destination);
  const bool in_use = std::any_of(instances.begin(), instances.end(),
                                  [&](const std::string& i) { return st.connections->inbound_in_use(i); });
  bool& told = st.cycler_told_inbound[destination];
  if (in_use == told)
    return;
  told = in_use;
  self->send(cycler, atoms::inbound_use::value, in_use);
}

// An outbound connection is its cycler's attempt: the cycler hears dial_done(true) when it is
// kept, then dial_ended when it ends, or dial_done(false, why) when it ends without being kept.
void feed_cycler_outbound(supervisor_self self, const std::string& destination,
                          const replication_connection_actor& conn, bool kept, const std::string& why) {
  auto cycler = cycler_of(self, destination);
  if (!cycler)
    return;
  auto& told = self->state.cycler_told_kept;
  if (kept) {
    told.insert(conn.address());
    self->send(cycler, atoms::dial_done::value, true, std::string{});
  } else if (told.erase(conn.address()) > 0) {
    self->send(cycler, atoms::dial_ended::value);
  } else {
    self->send(cycler, atoms::dial_done::value, false, why);
  }
}

// A connection identified its peer: keep it or close it as a duplicate (connection_registry).
// Returns whether to keep it and the link that should use it (none if the peer is not one of
// our destinations).
// A hello whose instance id differs from the connection in use with that name: refused, kept on
// record, logged at most once a minute per name (identity_conflicts.hpp). Returns the reason sent
// in close{identity_conflict}: both addresses and both ids.
std::string refuse_identity(supervisor_self self, const std::string& peer, const std::string& kept_id,
                            const std::string& id, const std::string& remote) {
  auto& st = self->state;
  auto existing = st.connections->current(peer);
  const std::string kept_address = existing ? st.remote_addresses[existing->first.address()] : std::string{};
  logic::identity_conflict facts{journal::id_to_hex(kept_id), kept_address, journal::id_to_hex(id), remote};
  std::string reason = "instance " + peer + " is already connected from " + kept_address + " with instance id "
                       + facts.kept_id + "; this connection from " + remote + " has instance id " + facts.refused_id
                       + ": two nodes with one name (give each its own name)";
  if (auto covered = st.identity_conflicts.refused(peer, facts, unix_ms_now()))
    log::error("supervisor", "identity conflict: ", reason, " (refused ", *covered,
               " time(s) since the last line; said at most once a minute)");
  return reason;
}

std::pair<bool, destination_link_actor> on_conn_hello(supervisor_self self, const std::string& peer,
                                                      const std::string& group, const std::string& instance_id,
                                                      conn_direction dir, replication_connection_actor conn,
                                                      const std::string& remote, std::string* conflict) {
  auto& st = self->state;
  if (auto kept = st.connections->id_of(peer); !kept.empty() && !instance_id.empty() && kept != instance_id) {
    *conflict = refuse_identity(self, peer, kept, instance_id, remote);
    return {false, destination_link_actor{}};
  }
  if (st.groups->group_of(peer) != group) {
    for (const auto& pruned : st.groups->learn(peer, group))
      log::warn("supervisor", "instance groups full: forgot the group of ", pruned, " (learned longest ago)");
    if (!st.configured_groups.count(peer)) // remembered across restarts (a destination's is in the config)
      self->send(st.journal, atoms::instance_group::value, peer, group);
  }
  auto existing = st.connections->current(peer);
  auto decision = st.connections->adopt(conn, peer, to_dial(dir), instance_id);
  if (!decision.keep) {
    log::info("supervisor", "second connection with ", peer, " (", to_string(dir), ", ", remote,
              ") closed: keeping the ", to_string(to_conn(existing->second)), " one");
    return {false, destination_link_actor{}};
  }
  if (decision.replaced) {
    log::info("supervisor", "second connection with ", peer, ": keeping the ", to_string(dir), " one (", remote,
              "), closing the ", to_string(to_conn(existing->second)), " one");
    self->send(*decision.replaced, atoms::close_conn::value, std::string{"duplicate connection; keeping the other one"});
  }
  st.remote_addresses[conn.address()] = remote;
  const auto* destination = st.serving.destination_of(peer);
  if (!destination)
    return {true, destination_link_actor{}};
  feed_cycler(self, *destination);
  if (dir == conn_direction::outbound)
    feed_cycler_outbound(self, *destination, conn, true, {});
  const auto before = st.serving.serving(*destination);
  if (!st.serving.on_connected(peer))
    return {true, destination_link_actor{}}; // another instance serves; records from this one are still taken
  if (before != peer)
    log::info("supervisor", "destination ", *destination, ": instance ", peer, " (", remote, ") serves it");
  return {true, st.destinations.at(*destination).link};
}

// The connection in use with `peer` ended. When `peer` served its destination, another connected
// instance of the group takes over at once: its connection is handed the link (serve_link), and
// the link resumes from what that instance durably holds (its first durable_ack).
void hand_over(supervisor_self self, const std::string& peer) {
  auto& st = self->state;
  auto h = st.serving.on_disconnected(peer);
  if (!h.was_serving)
    return;
  if (!h.next) {
    log::info("supervisor", "destination ", h.destination, ": instance ", peer,
              " no longer connected and no other instance is; dialing");
    return;
  }
  auto next = st.connections->current(*h.next);
  assert(next && "serving_instances: a serving instance is connected");
  if (!next)
    return; // not reached (the invariant above); never dereference an empty handle
  log::info("supervisor", "failover: destination ", h.destination, ": instance ", peer, " no longer connected; ",
            *h.next, " (", st.remote_addresses[next->first.address()], ") serves it now");
  self->send(next->first, atoms::serve_link::value, caf::actor_cast<caf::actor>(st.destinations.at(h.destination).link));
}

// The journal actor, over the journal main opened and recovered.
std::shared_ptr<journal_runtime> spawn_journal(supervisor_self self, node_resources& res, const caf::actor& timers) {
  auto& st = self->state;
  const auto& cfg = st.info.config;
  journal_actor_options jo;
  for (const auto& d : cfg.destinations) {
    jo.destinations.emplace_back(d.name, d.type == config::sync_type::sync);
    jo.destination_topics.push_back(d.topics);
    jo.downgrade_after_ms.push_back(d.downgrade_after_ms);
  }
  jo.inbound_positions_file = cfg.data_dir + "/inbound-positions.json";
  jo.instance_groups_file = cfg.data_dir + "/instance-groups.json";
  jo.timers = timers;
  auto runtime = res.journal;
  st.journal = spawn_journal_actor(self->system(), std::move(res.journal), std::move(res.recovery), jo);
  self->link_to(st.journal);
  return runtime;
}

// What every replication actor shares (replication_context.hpp), with the journal readers and
// the resolver it names (linked: they stop with the node).
std::shared_ptr<const replication_context> make_context(supervisor_self self, const caf::actor& timers,
                                                        std::shared_ptr<journal_runtime> runtime,
                                                        std::shared_ptr<logic::access_control> access,
                                                        std::shared_ptr<tls::context_holder> tls) {
  const auto& cfg = self->state.info.config;
  auto ctx = std::make_shared<replication_context>();
  ctx->access = std::move(access); // issue 18
  ctx->name = cfg.name;
  ctx->group = cfg.group;
  ctx->supervisor = caf::actor_cast<supervisor_actor>(self);
  ctx->timers = timers;
  ctx->journal = self->state.journal;
  ctx->instance_id = runtime->instance_id();
  ctx->destinations = cfg.destinations;
  self->state.validations = ctx->validations;
  self->state.identity_refusals = ctx->identity_refusals;
  self->state.tls = tls;
  self->state.tls_refusals = ctx->tls_refusals;
  ctx->runtime = std::move(runtime);
  ctx->journal_readers = spawn_journal_readers(self->system(), cfg.journal.readers);
  ctx->resolver = spawn_resolver(self->system());
  self->link_to(ctx->resolver);
  for (const auto& r : ctx->journal_readers)
    self->link_to(r);
  ctx->digest_scanner = spawn_digest_scanner(self->system(), ctx->runtime); // issue 17, part 7
  self->link_to(ctx->digest_scanner);
  ctx->anti_entropy_interval = std::chrono::seconds{cfg.anti_entropy_interval_s};
  ctx->max_frame_bytes = cfg.limits.max_frame_bytes;
  ctx->budget = std::make_shared<logic::memory_budget>(cfg.limits.max_buffered_bytes_total);
  ctx->limits->apply(cfg);
  ctx->tls = std::move(tls);
  ctx->replication_tls = cfg.replication.tls;
  ctx->client_tls = cfg.client.tls;
  ctx->client_tls_require_cert = cfg.client.tls_require_client_cert;
  return ctx;
}

link_options link_options_for(const config::node_config& cfg) {
  link_options lo;
  lo.max_in_flight_bytes = logic::link_in_flight_share(cfg.limits.max_in_flight_bytes, cfg.limits.max_in_flight_bytes_total,
                                                       cfg.destinations.size());
  lo.max_link_window_bytes = cfg.limits.max_link_window_bytes;
  lo.links = std::max<std::size_t>(cfg.destinations.size(), 1);
  lo.send_before_durable = cfg.journal.send_before_durable;
  return lo;
}

// One destination's actors: its link, and a cycler when it has addresses to dial (linked: a crash
// of either is fatal; stop_destination unlinks them first).
void start_destination(supervisor_self self, const config::destination_config& d, const link_options& lo) {
  auto& st = self->state;
  st.groups->pin(d.name, d.group);
  st.configured_groups.insert(d.name);
  const auto instances = d.instances.empty() ? std::vector<std::string>{d.name} : d.instances;
  st.serving.add_destination(d.name, instances);
  for (const auto& i : instances) { // records arriving from any of them come from d.group
    st.groups->pin(i, d.group);
    st.configured_groups.insert(i);
  }
  destination_actors a;
  a.link = spawn_destination_link(self->system(), st.ctx, d, st.groups, lo);
  self->link_to(a.link);
  if (!d.addresses.empty()) {
    a.cycler = spawn_address_cycler(self->system(), st.ctx, d);
    self->link_to(a.cycler);
  }
  st.destinations[d.name] = a;
}

// One link per destination, and a cycler for each that has addresses to dial.
void spawn_destinations(supervisor_self self) {
  const auto lo = link_options_for(self->state.info.config);
  for (const auto& d : self->state.info.config.destinations)
    start_destination(self, d, lo);
}

// Groups of instances that are not destinations, as they announced them before the restart:
// passthrough routing needs them before those peers connect again.
void load_remembered_groups(supervisor_self self) {
  self->request(self->state.journal, std::chrono::seconds{10}, atoms::instance_group::value)
    .then(
      [=](const std::string& text) {
        auto doc = nlohmann::json::parse(text, nullptr, false);
        if (doc.is_object())
          for (const auto& [instance, group] : doc.items())
            if (group.is_string() && !self->state.configured_groups.count(instance)
                && self->state.groups->group_of(instance).empty())
              self->state.groups->learn(instance, group.get<std::string>());
      },
      [=](caf::error& err) {
        log::warn("supervisor", "remembered instance groups unavailable: ", self->system().render(err));
      });
}

// The replication, client and admin listeners, on the sockets main bound.
void spawn_listeners(supervisor_self self, const node_resources& res, const std::shared_ptr<const replication_context>& ctx,
                     const caf::actor& timers) {
  auto& st = self->state;
  const auto& cfg = st.info.config;
  st.replication_listener = spawn_replication_listener(self->system(), res.replication_fd, ctx,
                                                       cfg.limits.max_replication_connections);
  self->link_to(st.replication_listener);
  st.client_listener = spawn_client_listener(self->system(), res.client_fd, ctx, cfg.limits.max_client_connections);
  self->link_to(st.client_listener);
  admin_limits al;
  al.max_connections = cfg.limits.max_admin_connections;
  al.request_timeout = std::chrono::milliseconds{cfg.limits.handshake_timeout_ms};
  al.timers = timers;
  al.digest_scanner = ctx->digest_scanner; // GET /digest (issue 17, part 7)
  al.access = ctx->access;                 // the admin token (issue 18)
  if (cfg.admin.tls)
    al.tls = ctx->tls;                     // admin.tls (issue 18): the same holder, rotated by SIGHUP
  st.admin = spawn_admin_server(self->system(), res.admin_fd, caf::actor_cast<supervisor_actor>(self), st.journal, al);
  // Linked both ways: the supervisor's exit stops its children, and a child that dies
  // unexpectedly takes the node down loudly rather than leaving it half-working.
  self->link_to(st.admin);
}

// An applied reload changed destination `d`'s addresses or reconnect schedule: its cycler adopts
// them once no attempt is in flight; when the addresses changed, the outbound connection in use
// with any instance of `d` is closed, so the cycler dials from the top of the new list (an
// inbound connection stays: it does not depend on our addresses).
void reconfigure_cycler(supervisor_self self, const config::destination_config& d, bool addresses_changed) {
  auto& st = self->state;
  auto cycler = cycler_of(self, d.name);
  if (!cycler)
    return; // none: accept-only before or after, so plan_destinations restarted its actors instead
  self->send(cycler, atoms::reconfigure::value, std::make_shared<const config::destination_config>(d));
  if (!addresses_changed)
    return;
  for (const auto& instance : configured_instances(st.info.config, d.name))
    if (auto conn = st.connections->current(instance); conn && conn->second == logic::dial_direction::outbound)
      self->send(conn->first, atoms::close_conn::value,
                 std::string{"config reload: the addresses of destination " + d.name + " changed"});
}

// The destinations whose addresses or reconnect schedule an applied diff changes.
void reconfigure_cyclers(supervisor_self self, const config::config_diff& diff, const config::node_config& next) {
  for (const auto& d : next.destinations) {
    const auto prefix = "destinations[name=" + d.name + "].";
    bool addresses = false, reconnect = false;
    for (const auto& c : diff.changes) {
      addresses = addresses || c.path == prefix + "addresses";
      reconnect = reconnect || c.path.rfind(prefix + "reconnect.", 0) == 0;
    }
    if (addresses || reconnect)
      reconfigure_cycler(self, d, addresses);
  }
}

// Closes the connections in use with `instances`: they register again (conn_hello), so the
// destination's link as it is now is attached to them, or none when it was removed.
void close_connections_of(supervisor_self self, const std::vector<std::string>& instances, const std::string& why) {
  for (const auto& instance : instances)
    if (auto conn = self->state.connections->current(instance))
      self->send(conn->first, atoms::close_conn::value, why);
}

// Stops destination `name`'s link and cycler (a live reload removed or restarts it). Unlinked
// first, so their exit is no child crash (fail_fast_on_child_exit).
void stop_destination(supervisor_self self, const std::string& name) {
  auto& st = self->state;
  auto it = st.destinations.find(name);
  if (it == st.destinations.end())
    return;
  for (const auto& a : {caf::actor_cast<caf::actor>(it->second.link), caf::actor_cast<caf::actor>(it->second.cycler)})
    if (a) {
      self->unlink_from(a);
      self->send_exit(a, caf::exit_reason::user_shutdown);
    }
  st.serving.remove_destination(name);
  st.cycler_told_inbound.erase(name);
  st.destinations.erase(it);
}

// Tells the journal about destination `d` (nullptr: `name` removed); `then` runs once it knows.
void tell_journal(supervisor_self self, const std::string& name, const config::destination_config* d,
                  std::function<void()> then) {
  const bool sync = d && d->type == config::sync_type::sync;
  self->request(self->state.journal, std::chrono::seconds{30}, atoms::dest_config::value, name, d != nullptr, sync,
                d ? d->topics : std::string{".*"}, d ? d->downgrade_after_ms : std::uint64_t{0})
    .then([then](bool) { then(); },
          [=](caf::error& err) {
            log::error("supervisor", "destination ", name, ": the journal did not take the config reload: ",
                       self->system().render(err));
          });
}

// An applied reload's destinations (config/reload.hpp plan_destinations): removed ones stopped at
// once (their connections closed, their journal holds and waits released), restarted and added
// ones started once the journal knows their new settings, then their connections closed so the
// new link is attached. Called before the running config becomes `next`.
void apply_destination_plan(supervisor_self self, const config::destination_plan& plan,
                            const config::node_config& next) {
  for (const auto& name : plan.removed) {
    close_connections_of(self, configured_instances(self->state.info.config, name),
                         "config reload: destination " + name + " removed");
    stop_destination(self, name);
    tell_journal(self, name, nullptr, [] {});
    log::info("supervisor", "destination ", name, " removed (config reload): its link and cycler stopped");
  }
  const auto lo = link_options_for(next);
  auto start = [self, lo](const config::destination_config& d, const char* what) {
    stop_destination(self, d.name);
    tell_journal(self, d.name, &d, [self, d, lo, what] {
      if (self->state.destinations.count(d.name))
        return; // a later reload started it already
      start_destination(self, d, lo);
      close_connections_of(self, configured_instances(self->state.info.config, d.name),
                           std::string{"config reload: destination "} + d.name + " " + what);
      log::info("supervisor", "destination ", d.name, " ", what, " (config reload): its link resumes from what it holds");
    });
  };
  for (const auto& d : plan.restarted)
    start(d, "changed");
  for (const auto& d : plan.added)
    start(d, "added");
}

// A reload's verdict against the config running now: logged, counted, and carried out when it is
// `applied` (every change is live: config_diff.hpp says which): log_level set at once; a
// destination's addresses and reconnect schedule handed to its cycler; destinations added,
// removed or changed (apply_destination_plan); journal.startup_check read only at the next start.
// Returns the verdict as JSON.
std::string finish_reload(supervisor_self self, const config::loaded_config& loaded) {
  auto& st = self->state;
  auto verdict = config::decide_reload(st.info.config, loaded);
  const auto line = verdict.summary();
  if (verdict.result == config::reload_result::applied || verdict.result == config::reload_result::unchanged)
    log::info("supervisor", line);
  else
    log::warn("supervisor", line);
  if (verdict.result == config::reload_result::applied) {
    const auto& next = *loaded.result.config;
    st.ctx->limits->apply(next); // live limits (replication_context.hpp): before any link starts
    const auto plan = config::plan_destinations(verdict.diff, next);
    apply_destination_plan(self, plan, next);
    reconfigure_cyclers(self, verdict.diff, next);
    st.info.config = next;
    if (auto level = log::parse_level(st.info.config.log_level))
      log::set_level(*level);
  }
  ++st.reloads[config::to_string(verdict.result)];
  st.last_reload = line;
  return verdict.to_json().dump();
}

constexpr std::size_t max_waiting_reloads = 1024;

void run_reload(supervisor_self self);

// Answers every request the read that just ended served, and starts the next read if requests
// arrived meanwhile.
void reload_done(supervisor_self self, const config::loaded_config& loaded) {
  auto& st = self->state;
  const auto answer = finish_reload(self, loaded);
  for (auto& rp : *st.reload_running)
    rp.deliver(answer);
  st.reload_running.reset();
  if (!st.reload_next.empty())
    run_reload(self);
}

void run_reload(supervisor_self self) {
  auto& st = self->state;
  st.reload_running = std::exchange(st.reload_next, {});
  log::info("supervisor", "config reload: reading ",
            st.config_source.file.empty() ? std::string{"the embedded default"} : st.config_source.file,
            st.reload_running->size() > 1 ? " (for " + std::to_string(st.reload_running->size()) + " requests)" : "");
  auto loader = spawn_config_loader(self->system(), st.config_source);
  self->request(loader, std::chrono::seconds{30}, atoms::config_reload::value)
    .then([=](const std::string& text) { reload_done(self, config::loaded_config_from_json(nlohmann::json::parse(text, nullptr, false))); },
          [=](caf::error& err) {
            config::loaded_config failed;
            failed.problem = "the config could not be read: " + self->system().render(err);
            reload_done(self, failed);
          });
}

// config_reload: the file is read on a detached loader (never on this scheduler thread), one at a
// time: a SIGHUP storm costs one read per read time, not a thread per signal.
caf::result<std::string> start_reload(supervisor_self self) {
  auto& st = self->state;
  auto rp = self->make_response_promise<std::string>();
  if (st.reload_next.size() >= max_waiting_reloads) { // bounded: the next read serves them all anyway
    config::reload_verdict busy;
    busy.errors.push_back("too many reload requests waiting (" + std::to_string(max_waiting_reloads) + "); try again");
    rp.deliver(busy.to_json().dump());
    return rp;
  }
  st.reload_next.push_back(rp);
  if (!st.reload_running)
    run_reload(self);
  return rp;
}

supervisor_actor::behavior_type supervisor(supervisor_self self, node_info info, node_resources res) {
  self->bind_probe("supervisor");
  // Fail fast: a child (linked below) or the supervisor itself failing ends the process at once.
  fail_fast_on_exception(self, "supervisor");
  fail_fast_on_child_exit(self);
  auto& st = self->state;
  st.info = std::move(info);
  st.config_source = res.config_source;
  const auto& cfg = st.info.config;
  st.connections.emplace(cfg.name);
  auto timers = spawn_timer_relay(self->system());
  self->link_to(timers);
  auto ctx = make_context(self, timers, spawn_journal(self, res, timers), res.access, res.tls);
  st.ctx = ctx;
  spawn_destinations(self);
  load_remembered_groups(self);
  spawn_listeners(self, res, ctx, timers);
  log::info("supervisor", "node ", cfg.name, " running with ", cfg.destinations.size(), " destination(s)");
  return {
    [=](atoms::status) {
      auto rp = self->make_response_promise<std::string>();
      gather_status(self, [rp](nlohmann::ordered_json doc) mutable { rp.deliver(doc.dump()); });
      return rp;
    },
    [=](atoms::config_reload) { return start_reload(self); },
    // The Prometheus exposition: the same figures as /status, plus /proc, set at request time.
    [=](atoms::metrics_text) {
      auto rp = self->make_response_promise<std::string>();
      gather_status(self, [self, rp](nlohmann::ordered_json doc) mutable {
        rp.deliver(self->state.metrics->expose(nlohmann::json::parse(doc.dump())));
      });
      return rp;
    },
    [=](atoms::conn_hello, const std::string& peer, const std::string& group, const std::string& instance_id,
        conn_direction dir, replication_connection_actor conn,
        const std::string& remote) -> caf::result<bool, destination_link_actor, std::string, bool> {
      std::string conflict;
      auto [keep, link] = on_conn_hello(self, peer, group, instance_id, dir, std::move(conn), remote, &conflict);
      return {keep, link, conflict, self->state.serving.destination_of(peer) != nullptr};
    },
    [=](atoms::conn_down, const std::string& peer, const replication_connection_actor& conn, conn_direction dir,
        const std::string& why) {
      auto& s = self->state;
      if (s.connections->closed(conn, peer))
        hand_over(self, peer); // the one in use ended (a replaced one's end changes nothing)
      s.remote_addresses.erase(conn.address());
      // The cycler learns when no inbound connection is in use any more, and what became of its
      // own attempt, in order with the dial result it heard.
      const auto* destination = destination_for(self, peer);
      if (!destination)
        return;
      feed_cycler(self, *destination);
      if (dir == conn_direction::outbound)
        feed_cycler_outbound(self, *destination, conn, false, why);
    },
  };
}

} // namespace

supervisor_actor spawn_supervisor(caf::actor_system& sys, node_info info, node_resources resources) {
  return sys.spawn(supervisor, std::move(info), std::move(resources));
}

} // namespace tandem
