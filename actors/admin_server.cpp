#include "actors/admin_server.hpp"

#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/atoms.hpp"
#include "actors/digest_scanner.hpp"
#include "actors/instrumented_actor.hpp"
#include "actors/log.hpp"
#include "actors/node_metrics.hpp"
#include "actors/timer_relay.hpp"
#include "journal/hop_trace.hpp"
#include "protocol/http_request.hpp"
#include "protocol/http_response.hpp"
#include "tls/session.hpp"

#include <nlohmann/json.hpp>

namespace tandem {

namespace {

constexpr std::string_view component = "admin";

struct admin_connection {
  protocol::http_request_parser parser;
  std::uint64_t epoch = 0; // matches the conn_timeout timer armed at accept
  bool answering = false;  // a response is on its way; further input is ignored
  bool got_data = false;   // any bytes arrived yet (admin.tls: the first ones tell a plaintext client)
  std::unique_ptr<tls::session> tls; // admin.tls: this connection's session (null: plaintext)
};

struct admin_state {
  supervisor_actor supervisor;
  journal_actor journal;
  admin_limits limits;
  std::unordered_map<caf::io::connection_handle, admin_connection> connections;
  std::uint64_t next_epoch = 0;
};

using state_ptr = std::shared_ptr<admin_state>;

void write_out(caf::io::broker* self, caf::io::connection_handle h, const std::string& bytes) {
  if (bytes.empty())
    return;
  self->write(h, bytes.size(), bytes.data());
  self->flush(h);
}

void respond(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, int status,
             std::string_view content_type, std::string_view body) {
  auto it = st->connections.find(h);
  if (it == st->connections.end())
    return; // the client went away while we were preparing the answer
  auto tls = std::move(it->second.tls);
  st->connections.erase(it);
  auto bytes = protocol::http_response(status, content_type, body);
  if (tls) { // the response, then close_notify, as TLS records
    tls->send(bytes);
    tls->close();
    bytes = tls->take_ciphertext();
  }
  self->write(h, bytes.size(), bytes.data());
  self->flush(h);
  self->close(h); // graceful: the queued response still goes out
}

// "/destinations/NAME/downgrade" or ".../upgrade": NAME and whether it is a downgrade.
struct destination_action {
  std::string name;
  bool downgrade = false;
};

std::optional<destination_action> parse_destination_action(std::string_view target) {
  constexpr std::string_view prefix = "/destinations/";
  if (target.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  target.remove_prefix(prefix.size());
  const auto slash = target.find('/');
  if (slash == std::string_view::npos || slash == 0)
    return std::nullopt;
  const auto verb = target.substr(slash + 1);
  if (verb != "downgrade" && verb != "upgrade")
    return std::nullopt;
  return destination_action{std::string{target.substr(0, slash)}, verb == "downgrade"};
}

// An operator's downgrade or upgrade: the journal decides (it owns the ack rule) and answers
// the destination's new state; the outcome maps to the HTTP status.
void destination_admin(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h,
                       const destination_action& a) {
  self->request(st->journal, caf::infinite, atoms::sync_admin::value, a.name, a.downgrade)
    .then(
      [=](const std::string& json) {
        auto doc = nlohmann::json::parse(json, nullptr, false);
        const auto outcome = doc.is_object() ? doc.value("outcome", std::string{}) : std::string{};
        if (outcome == "ok") {
          log::info(component, "operator ", a.downgrade ? "downgrade" : "upgrade", " of destination ", a.name,
                    ": effective ", doc.value("effective_sync_type", std::string{}));
          respond(self, st, h, 200, "application/json", json + "\n");
          return;
        }
        const bool unknown = outcome == "unknown_destination";
        nlohmann::json err;
        err["error"] = unknown ? "no destination named " + a.name.substr(0, 128) + " is configured"
                               : "destination " + a.name + " is async: only sync destinations are downgraded";
        err["outcome"] = outcome;
        respond(self, st, h, unknown ? 404 : 409, "application/json", err.dump() + "\n");
      },
      [=](caf::error& err) {
        log::warn(component, "destination action failed: ", self->system().render(err));
        respond(self, st, h, 503, "text/plain", "journal unavailable\n");
      });
}

// POST /config/reload (issue 21 part 1): the supervisor reads the config again and answers its
// verdict (config/reload.hpp) as JSON: 200 applied or unchanged, 409 refused (a change needs a
// restart), 422 the config is invalid. The request has no body (the parser reads only the head).
void config_reload(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h) {
  self->request(st->supervisor, caf::infinite, atoms::config_reload::value)
    .then(
      [=](const std::string& json) {
        auto doc = nlohmann::json::parse(json, nullptr, false);
        const auto result = doc.is_object() ? doc.value("result", std::string{}) : std::string{};
        const int status = result == "applied" || result == "unchanged" ? 200 : result == "refused" ? 409 : 422;
        respond(self, st, h, status, "application/json", json + "\n");
      },
      [=](caf::error& err) {
        log::warn(component, "config reload request failed: ", self->system().render(err));
        respond(self, st, h, 503, "text/plain", "reload outcome unknown (see the node's log)\n");
      });
}

// GET /digest: the query is checked here, the scan runs on the digest scanner's thread.
void digest_admin(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, const std::string& target) {
  std::string error;
  auto q = anti_entropy::parse_digest_query(target, error);
  if (!q) {
    respond(self, st, h, 400, "text/plain", "bad digest request: " + error + "\n");
    return;
  }
  if (!st->limits.digest_scanner) {
    respond(self, st, h, 503, "text/plain", "no digest scanner\n");
    return;
  }
  const auto& r = q->request;
  self->request(st->limits.digest_scanner, caf::infinite, atoms::digest::value, r.origin, r.from, r.to,
                q->to_given, static_cast<std::uint64_t>(r.buckets))
    .then(
      [=](const std::string& json) {
        // The scanner's JSON has sorted keys: only its error answer starts with "error".
        const bool failed = json.rfind("{\"error\":", 0) == 0;
        respond(self, st, h, failed ? 503 : 200, "application/json", json + "\n");
      },
      [=](caf::error& err) {
        log::warn(component, "digest request failed: ", self->system().render(err));
        respond(self, st, h, 503, "text/plain", "digest unavailable: " + self->system().render(err) + "\n");
      });
}

// Issue 18: the bearer token rule (logic/access_control.hpp) before anything else is looked at.
// False when the request was answered 401 or 403.
bool authorized(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h,
                const protocol::http_request& req) {
  const bool is_read = req.method == "GET" || req.method == "HEAD";
  if (!st->limits.access || (is_read && req.target == "/healthz")) // liveness probes carry no token
    return true;
  const auto verdict = logic::decide_admin(st->limits.access->admin(), is_read, req.authorization);
  if (verdict == logic::admin_verdict::allowed)
    return true;
  st->limits.access->count_admin_refusal(verdict);
  const bool missing = verdict == logic::admin_verdict::unauthorized;
  log::warn(component, "refused ", req.method, " ", req.target.substr(0, 128), " from ", self->remote_addr(h), ": ",
            missing ? "no bearer token (401)" : "wrong bearer token (403)");
  respond(self, st, h, missing ? 401 : 403, "text/plain",
          missing ? "this needs the admin token: Authorization: Bearer <token> (tandem --token-file)\n"
                  : "wrong admin token\n");
  return false;
}

void dispatch(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h,
              const protocol::http_request& req) {
  if (!authorized(self, st, h, req))
    return;
  if (req.target == "/config/reload") {
    if (req.method != "POST")
      respond(self, st, h, 405, "text/plain", "only POST is served on /config/reload\n");
    else
      config_reload(self, st, h);
    return;
  }
  if (auto action = parse_destination_action(req.target)) {
    if (req.method != "POST")
      respond(self, st, h, 405, "text/plain", "only POST is served on " + req.target.substr(0, 256) + "\n");
    else
      destination_admin(self, st, h, *action);
    return;
  }
  if (req.method != "GET" && req.method != "HEAD") {
    respond(self, st, h, 405, "text/plain", "only GET is served here\n");
    return;
  }
  if (req.target == "/healthz") {
    respond(self, st, h, 200, "text/plain", "ok\n");
  } else if (req.target == "/status") {
    self->request(st->supervisor, caf::infinite, atoms::status::value)
      .then([=](const std::string& json) { respond(self, st, h, 200, "application/json", json + "\n"); },
            [=](caf::error& err) {
              log::warn(component, "status request failed: ", self->system().render(err));
              respond(self, st, h, 503, "text/plain", "status unavailable\n");
            });
  } else if (req.target == "/digest") {
    digest_admin(self, st, h, req.query.empty() ? req.target : req.target + "?" + req.query);
  } else if (req.target == "/metrics") {
    // Built by the supervisor from the same figures as /status; asked for, not waited on.
    self->request(st->supervisor, caf::infinite, atoms::metrics_text::value)
      .then([=](const std::string& text) { respond(self, st, h, 200, node_metrics::content_type, text); },
            [=](caf::error& err) {
              log::warn(component, "metrics request failed: ", self->system().render(err));
              respond(self, st, h, 503, "text/plain", "metrics unavailable\n");
            });
  } else if (req.target == "/debug/hops" && hop_trace::enabled()) { // TANDEM_HOP_TRACE (journal/hop_trace.hpp)
    if (auto from = hop_trace::parse_from(req.query)) // one page: at most hop_trace::max_page_marks marks
      respond(self, st, h, 200, "application/json", hop_trace::dump_json(*from) + "\n");
    else
      respond(self, st, h, 400, "text/plain", "the query is from=K (a mark number, decimal), or none\n");
  } else {
    respond(self, st, h, 404, "text/plain", "not found; try /status, /metrics, /digest or /healthz\n");
  }
}

caf::behavior admin_server(instrumented<caf::io::broker>* self, int listen_fd, supervisor_actor supervisor,
                           journal_actor journal, admin_limits limits) {
  self->bind_probe("admin");
  auto st = std::make_shared<admin_state>();
  st->supervisor = std::move(supervisor);
  st->journal = std::move(journal);
  st->limits = limits;
  self->add_doorman(listen_fd);
  return {
    [=](const caf::io::new_connection_msg& msg) {
      if (st->connections.size() >= st->limits.max_connections) {
        log::warn(component, "refusing connection: ", st->limits.max_connections, " admin connections open");
        self->close(msg.handle);
        return;
      }
      auto epoch = ++st->next_epoch;
      auto& conn = st->connections[msg.handle];
      conn.epoch = epoch;
      // admin.tls: the context current now (a SIGHUP rotation reaches the next connection); a
      // client certificate is optional here (the bearer token is the admin's credential) and
      // verified against tls.ca_file when presented.
      if (st->limits.tls)
        conn.tls = std::make_unique<tls::session>(st->limits.tls->current(), tls::role::server,
                                                  tls::session_options{false, {}});
      self->configure_read(msg.handle, caf::io::receive_policy::at_most(4096));
      arm_timer(st->limits.timers, st->limits.request_timeout, self->address(),
                caf::make_message(atoms::conn_timeout::value, msg.handle, epoch));
    },
    [=](const caf::io::new_data_msg& msg) {
      auto it = st->connections.find(msg.handle);
      if (it == st->connections.end() || it->second.answering)
        return;
      std::string_view bytes{reinterpret_cast<const char*>(msg.buf.data()), msg.buf.size()};
      const bool first = !it->second.got_data;
      it->second.got_data = true;
      std::string plaintext;
      if (auto& s = it->second.tls) {
        s->receive(bytes);
        write_out(self, msg.handle, s->take_ciphertext()); // handshake records, alerts
        if (s->failed()) {
          // Fail fast (not at the request timeout): a plaintext client, say curl http://, gets
          // one plaintext answer saying so; any other TLS failure is closed with its reason.
          const bool plain = first && bytes.size() >= 3 && !tls::looks_like_tls(bytes.substr(0, 3));
          log::warn(component, "closing connection from ", self->remote_addr(msg.handle), ": TLS: ", s->error());
          st->connections.erase(it);
          if (plain)
            write_out(self, msg.handle,
                      protocol::http_response(400, "text/plain", "this admin port speaks TLS (admin.tls): use https://\n"));
          self->close(msg.handle);
          return;
        }
        plaintext = s->take_plaintext();
        if (plaintext.empty())
          return;
        bytes = plaintext;
      }
      switch (it->second.parser.feed(bytes)) {
        case protocol::http_parse_state::incomplete:
          return;
        case protocol::http_parse_state::too_large:
          log::warn(component, "closing connection: ", it->second.parser.error());
          respond(self, st, msg.handle, 431, "text/plain", it->second.parser.error() + "\n");
          return;
        case protocol::http_parse_state::malformed:
          log::warn(component, "closing connection: malformed request: ", it->second.parser.error());
          respond(self, st, msg.handle, 400, "text/plain", it->second.parser.error() + "\n");
          return;
        case protocol::http_parse_state::complete:
          it->second.answering = true;
          dispatch(self, st, msg.handle, it->second.parser.request());
          return;
      }
    },
    [=](const caf::io::connection_closed_msg& msg) { st->connections.erase(msg.handle); },
    [=](atoms::conn_timeout, caf::io::connection_handle h, std::uint64_t epoch) {
      auto it = st->connections.find(h);
      if (it == st->connections.end() || it->second.epoch != epoch)
        return;
      if (it->second.answering) { // asked on (caf::infinite, see below) and not answered in time
        log::warn(component, "no answer within ", st->limits.request_timeout.count(), " ms: 503");
        respond(self, st, h, 503, "text/plain", "no answer within the admin request timeout\n");
        return;
      }
      log::info(component, "closing connection: no complete request within ",
                st->limits.request_timeout.count(), " ms");
      st->connections.erase(it); // with a TLS session: closed without close_notify (nothing was said)
      self->close(h);
    },
    [=](const caf::io::acceptor_closed_msg&) {
      log::error(component, "admin listener closed by the system");
    },
  };
}

} // namespace

caf::actor spawn_admin_server(caf::actor_system& sys, int listen_fd, supervisor_actor supervisor,
                              journal_actor journal, admin_limits limits) {
  return sys.middleman().spawn_broker(admin_server, listen_fd, std::move(supervisor), std::move(journal), limits);
}

} // namespace tandem
