#include "actors/address_cycler_actor.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <cstring>
#include <poll.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/atoms.hpp"
#include "actors/instrumented_actor.hpp"
#include "actors/log.hpp"
#include "actors/logic/address_cycler.hpp"
#include "actors/replication_connection.hpp"
#include "actors/replication_messages.hpp"
#include "actors/timer_relay.hpp"
#include "config/parse.hpp"

namespace tandem {

namespace {

struct cycler_state {
  std::shared_ptr<const replication_context> ctx;
  config::destination_config dest;
  std::optional<logic::address_cycler> rule;
  std::uint64_t timer_epoch = 0;
  std::string name;
  std::chrono::steady_clock::time_point connected_at; // of the outbound connection in use
  bool starting = false; // a start_dial is with the resolver
  std::uint64_t attempt_id = 0; // of the latest dial; a resolver answer for an older one is stale
  std::chrono::steady_clock::time_point attempt_deadline; // the latest dial's (logic::address_cycler::dial)
  std::string attempt_address;   // the latest dial's host:port
  std::string failed_attempt;    // "dial B (H:P) failed: WHY", logged by step() with the next attempt
  // A live reload's addresses / reconnect schedule, waiting until no attempt is in flight and no
  // outbound connection is in use (the rule's results belong to the dial that asked for them).
  std::shared_ptr<const config::destination_config> pending;
};

using cycler_self = instrumented<caf::stateful_actor<cycler_state, cycler_actor::base>>*;

// Static name overrides: when TANDEM_HOSTS_FILE names a file of "ADDRESS NAME..." lines (the
// /etc/hosts format), a destination host listed there resolves to that address. The file is read
// on every attempt, like DNS, so switching a name between servers is followed at once. Meant for
// tests and for static setups that must not depend on the system resolver.
std::string hosts_file_lookup(const std::string& host) {
  const char* file = std::getenv("TANDEM_HOSTS_FILE");
  if (file == nullptr || *file == '\0')
    return {};
  std::ifstream in{file};
  std::string line;
  while (std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos)
      line.resize(hash);
    std::istringstream words{line};
    std::string address, name;
    if (!(words >> address))
      continue;
    while (words >> name)
      if (name == host)
        return address;
  }
  return {};
}

// How long the resolver waits for a non-blocking connect() to be answered before handing the
// socket on: enough for a refusal from this host or a LAN neighbour, short enough that a silent
// destination delays the other destinations' dials by little.
constexpr int early_answer_ms = 20;

// The errno of a connect() in progress that was answered within early_answer_ms (0: connected),
// or EINPROGRESS. Read here because once CAF owns the socket its first read takes the error, and
// the connection then only sees that it closed: this is what names "Connection refused".
int early_connect_error(int fd) {
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, early_answer_ms) <= 0)
    return EINPROGRESS;
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    return errno;
  return err;
}

// Resolves `address` (again on every call: no caching) and starts a non-blocking connect.
// Returns the socket, or -1 with *why set.
int start_connect(const config::host_port& address, std::string* why) {
  auto host = address.host;
  if (auto overridden = hosts_file_lookup(host); !overridden.empty())
    host = overridden;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(address.port).c_str(), &hints, &res); rc != 0) {
    *why = std::string{"cannot resolve: "} + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      *why = std::strerror(errno);
      continue;
    }
    int err = ::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS)
      err = early_connect_error(fd);
    if (err == 0 || err == EINPROGRESS)
      break;
    *why = std::strerror(err);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(res);
  return fd;
}

void step(cycler_self self);

void connect_started(cycler_self self, std::size_t index, std::uint64_t id, const dial_started& started);

// Notes why the latest dial failed; step() logs it with when the next attempt is, in one line.
void attempt_failed(cycler_state& st, const std::string& why) {
  st.failed_attempt = "dial " + st.dest.name + " (" + st.attempt_address + ") failed: " + why;
}

// The failed attempt's line (if one is pending): "...; next attempt in N ms" or "now".
void log_failed_attempt(cycler_state& st, std::optional<std::chrono::milliseconds> next_in) {
  if (st.failed_attempt.empty())
    return;
  if (next_in)
    log::info(st.name, st.failed_attempt, "; next attempt in ", next_in->count(), " ms");
  else
    log::info(st.name, st.failed_attempt, "; next attempt now");
  st.failed_attempt.clear();
}

// The blocking part of an attempt goes to the resolver; the attempt goes on in connect_started().
// The whole attempt has until the dial's deadline (reconnect.connect_timeout_ms): a timer then
// fails it if the resolver has not answered yet (step()), and the connection gets what is left.
void attempt(cycler_self self, const logic::address_cycler::dial& d) {
  auto& st = self->state;
  st.starting = true;
  st.attempt_deadline = d.deadline;
  const auto id = ++st.attempt_id;
  const auto index = d.index;
  const auto& address = st.dest.addresses[index];
  st.attempt_address = config::to_string(address);
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(d.deadline - std::chrono::steady_clock::now());
  arm_timer(st.ctx->timers, std::max(wait, std::chrono::milliseconds{0}) + std::chrono::milliseconds{1},
            self->address(), caf::make_message(atoms::dial::value, ++st.timer_epoch));
  self->request(st.ctx->resolver, caf::infinite, atoms::start_dial::value, address.host, address.port)
    .then([=](const dial_started& started) { connect_started(self, index, id, started); },
          [=](caf::error& err) {
            connect_started(self, index, id, dial_started{-1, "resolver: " + self->system().render(err)});
          });
}

// The resolver took the whole attempt (a slow DNS server): the attempt fails at its deadline, and
// the socket it answers with later is closed unused (connect_started()).
bool abandon_late_resolution(cycler_self self, std::chrono::steady_clock::time_point now) {
  auto& st = self->state;
  if (!st.starting || now < st.attempt_deadline)
    return false;
  st.starting = false;
  attempt_failed(st, "name resolution and connect() did not start within " +
                       std::to_string(st.dest.reconnect.connect_timeout_ms) + " ms (reconnect.connect_timeout_ms)");
  st.rule->on_attempt_failed(now);
  return true;
}

void connect_started(cycler_self self, std::size_t index, std::uint64_t id, const dial_started& started) {
  auto& st = self->state;
  if (!st.starting || id != st.attempt_id) {
    if (started.fd >= 0)
      ::close(started.fd); // the attempt was abandoned at its deadline; CAF never saw this socket
    return;
  }
  st.starting = false;
  const auto& address = st.dest.addresses[index];
  auto where = config::to_string(address);
  const int fd = started.fd;
  const auto now = std::chrono::steady_clock::now();
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(st.attempt_deadline - now);
  if (fd < 0 || left.count() <= 0) {
    if (fd >= 0)
      ::close(fd);
    attempt_failed(st, fd < 0 ? started.why : std::string{"connect_timeout_ms used up by name resolution"});
    st.rule->on_attempt_failed(now);
    step(self);
    return;
  }
  log::debug(st.name, "connecting to ", st.dest.name, " at ", where);
  connection_args args;
  args.ctx = st.ctx;
  args.direction = conn_direction::outbound;
  args.expected_peer = st.dest.name;
  args.acceptable_peers = st.dest.instances; // any server of the destination's group may answer
  args.remote_address = where;
  args.connect_timeout = left; // the rest of this attempt's connect_timeout_ms, up to the peer's hello
  if (st.dest.tls) {
    args.tls = st.ctx->tls_context(); // the current one (rotated by SIGHUP)
    args.tls_server_name = st.dest.tls_server_name;
  }
  spawn_outbound_connection(self->system(), fd, std::move(args));
}

// The rule for st.dest: a new one starts over at the top of the list with the backoff reset.
void make_rule(cycler_state& st) {
  const auto& rc = st.dest.reconnect;
  logic::backoff_config bc{std::chrono::milliseconds{rc.initial_ms}, std::chrono::milliseconds{rc.max_ms},
                           rc.multiplier, rc.jitter};
  bc.connect_timeout = std::chrono::milliseconds{rc.connect_timeout_ms};
  const bool inbound = st.rule && st.rule->inbound_present();
  st.rule.emplace(st.dest.addresses.size(), bc, std::hash<std::string>{}(st.ctx->name + "/" + st.dest.name));
  if (inbound)
    st.rule->on_inbound(true);
}

// A reload's new addresses / reconnect schedule, once nothing of the old rule is outstanding.
void adopt_pending(cycler_state& st) {
  if (!st.pending || st.starting || st.rule->in_flight() || st.rule->connected_index())
    return;
  st.dest.addresses = st.pending->addresses;
  st.dest.reconnect = st.pending->reconnect;
  st.pending.reset();
  ++st.timer_epoch; // a wait of the old schedule is void
  st.failed_attempt.clear();
  make_rule(st);
  log::info(st.name, "reloaded: ", st.dest.addresses.size(), " address(es), reconnect ", st.dest.reconnect.initial_ms,
            "..", st.dest.reconnect.max_ms, " ms; dialing from the top of the list");
}

// Carries out what the rule says now.
void step(cycler_self self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  if (st.starting && !abandon_late_resolution(self, now))
    return; // connect_started() steps on
  adopt_pending(st);
  auto next = st.rule->next(now);
  if (auto* d = std::get_if<logic::address_cycler::dial>(&next)) {
    log_failed_attempt(st, std::nullopt);
    attempt(self, *d);
  } else if (auto* w = std::get_if<logic::address_cycler::wait_until>(&next)) {
    auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(w->at - now) + std::chrono::milliseconds{1};
    log_failed_attempt(st, delay);
    log::debug(st.name, "no server of ", st.dest.name, " reachable; next pass in ", delay.count(), " ms");
    arm_timer(st.ctx->timers, delay, self->address(), caf::make_message(atoms::dial::value, ++st.timer_epoch));
  } else if (!st.failed_attempt.empty()) {
    // idle: the destination reached us (inbound), or it is accept-only: no next attempt.
    log::info(st.name, st.failed_attempt, "; no next attempt while idle");
    st.failed_attempt.clear();
  }
}

cycler_actor::behavior_type cycler_behavior(cycler_self self, std::shared_ptr<const replication_context> ctx,
                                            config::destination_config dest) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.dest = std::move(dest);
  st.name = "cycler-" + st.dest.name;
  self->bind_probe(st.name);
  make_rule(st);
  self->send(caf::actor_cast<cycler_actor>(self), atoms::dial::value, st.timer_epoch);
  return {
    [=](atoms::dial, std::uint64_t epoch) {
      if (epoch == self->state.timer_epoch)
        step(self);
    },
    // What became of our attempt (from the supervisor, in order: dial_done(true) when the
    // connection was kept, then dial_ended when it ends; dial_done(false) if it never got there).
    [=](atoms::dial_done, bool ok, const std::string& why) {
      auto& s = self->state;
      if (ok) {
        s.rule->on_connected();
        s.connected_at = std::chrono::steady_clock::now();
        return;
      }
      attempt_failed(s, why);
      s.rule->on_attempt_failed(std::chrono::steady_clock::now());
      step(self);
    },
    // Derived by the supervisor from its connection registry (connection_registry.hpp): an
    // inbound connection from the destination is now in use / no longer in use (a replaced one
    // closing is neither).
    [=](atoms::inbound_use, bool in_use) {
      self->state.rule->on_inbound(in_use);
      if (!in_use)
        step(self);
    },
    [=](atoms::reconfigure, std::shared_ptr<const config::destination_config> d) {
      self->state.pending = std::move(d);
      step(self); // adopts it now when nothing is outstanding, else after the result
    },
    [=](atoms::dial_ended) {
      if (self->state.rule->connected_index()) {
        // One that ends at once counts as a failed attempt, so a server that accepts and drops
        // us is not redialed in a tight loop.
        auto now = std::chrono::steady_clock::now();
        self->state.rule->on_disconnected(now, now - self->state.connected_at);
      }
      step(self);
    },
    [=](atoms::status) -> std::string {
      const auto& r = *self->state.rule;
      nlohmann::json j;
      j["backoff_ms"] = r.current_backoff().count();
      j["passes_failed"] = r.passes_failed();
      j["failovers"] = r.failovers();
      j["early_drops"] = r.early_drops();
      j["inbound_present"] = r.inbound_present();
      auto per = nlohmann::json::array();
      for (std::size_t i = 0; i < self->state.dest.addresses.size(); ++i)
        per.push_back({{"address", config::to_string(self->state.dest.addresses[i])},
                       {"attempts", r.attempts(i)},
                       {"failures", r.failures(i)}});
      j["addresses"] = per;
      j["connected_address"] = r.connected_index() ? config::to_string(self->state.dest.addresses[*r.connected_index()])
                                                   : std::string{};
      return j.dump();
    },
  };
}

} // namespace

cycler_actor spawn_address_cycler(caf::actor_system& sys, std::shared_ptr<const replication_context> ctx,
                                  config::destination_config dest) {
  return sys.spawn(cycler_behavior, std::move(ctx), std::move(dest));
}

caf::actor spawn_resolver(caf::actor_system& sys) {
  return sys.spawn<caf::detached>([](instrumented<caf::event_based_actor>* self) -> caf::behavior {
    self->bind_probe("resolver");
    return {
      [](atoms::start_dial, const std::string& host, std::uint16_t port) -> dial_started {
        dial_started out;
        out.fd = start_connect(config::host_port{host, port}, &out.why);
        return out;
      },
    };
  });
}

} // namespace tandem
