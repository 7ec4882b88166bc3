#include "actors/client_listener.hpp"

#include <chrono>
#include <map>
#include <regex>
#include <unordered_map>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/atoms.hpp"
#include "actors/instrumented_actor.hpp"
#include "actors/log.hpp"
#include "actors/metrics/live_metrics.hpp"
#include "actors/replication_messages.hpp"
#include "actors/subscription.hpp"
#include "actors/timer_relay.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame_reader.hpp"
#include "protocol/version.hpp"

namespace tandem {

namespace {

constexpr std::string_view component = "clients";

struct session {
  explicit session(std::size_t max_frame) : reader(max_frame) {}
  protocol::frame_reader reader;
  bool greeted = false;
  std::string name;
  std::uint64_t epoch = 0;
  std::size_t outstanding = 0;
  bool published_any = false;                        // counts as a publisher in the status
  std::map<std::uint64_t, caf::actor> subscriptions; // by subscription id
  std::size_t unsent_bytes = 0;                      // written to CAF, not yet on the wire
  std::vector<caf::actor> waiting_for_credit;        // subscriptions parked until the buffer drains
};

// A subscriber's connection may hold at most this much unsent data; beyond it, its
// subscriptions wait (each has at most one chunk in flight on top).
constexpr std::size_t subscriber_buffer_bytes = 1u << 20;

struct clients_state {
  std::shared_ptr<const replication_context> ctx;
  std::uint32_t max_connections = 0;
  std::size_t max_outstanding = 0;
  std::unordered_map<caf::io::connection_handle, session> sessions;
  std::uint64_t next_epoch = 0;
  std::uint64_t published = 0, persisted = 0, rejected = 0;
  std::map<std::string, std::uint64_t> rejected_by_reason; // negative acks sent, by reason name

  void reject(std::string_view reason, std::size_t n) {
    rejected += n;
    rejected_by_reason[std::string{reason}] += n;
  }
};

using state_ptr = std::shared_ptr<clients_state>;

void write_message(caf::io::broker* self, caf::io::connection_handle h, const protocol::message& m,
                   std::string& scratch) {
  scratch.clear();
  if (protocol::encode(m, scratch))
    self->write(h, scratch.size(), scratch.data());
}

// Forgets a connection and stops its subscriptions.
void end_session(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h) {
  auto it = st->sessions.find(h);
  if (it == st->sessions.end())
    return;
  for (auto& [id, sub] : it->second.subscriptions)
    self->send_exit(sub, caf::exit_reason::user_shutdown);
  st->sessions.erase(it);
}

void drop(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, protocol::close_code code,
          const std::string& reason) {
  log::warn(component, "closing client connection: ", reason);
  std::string buf;
  write_message(self, h, protocol::close_frame{code, reason}, buf);
  self->flush(h);
  self->close(h);
  end_session(self, st, h);
}

void submit(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, session& s,
            std::shared_ptr<std::vector<journal::record>> batch, std::vector<std::uint64_t> pub_seqs) {
  std::string buf;
  if (s.outstanding + pub_seqs.size() > st->max_outstanding) {
    for (auto seq : pub_seqs)
      write_message(self, h, protocol::negative_ack{seq, protocol::nack_reason::queue_full,
                                                    "too many publishes waiting for their ack on this connection"},
                    buf);
    self->flush(h);
    st->reject("queue_full", pub_seqs.size());
    return;
  }
  s.outstanding += pub_seqs.size();
  s.published_any = true;
  st->published += pub_seqs.size();
  auto seqs = std::make_shared<std::vector<std::uint64_t>>(std::move(pub_seqs));
  auto received = std::chrono::steady_clock::now();
  self->request(st->ctx->journal, caf::infinite, atoms::publish::value, append_request{std::move(batch)})
    .then(
      [=](const append_reply& rep) {
        auto it = st->sessions.find(h);
        if (it == st->sessions.end())
          return; // the publisher went away; the records are stored and replicate anyway
        it->second.outstanding -= seqs->size();
        std::string out;
        std::string frame;
        for (std::size_t i = 0; i < seqs->size(); ++i) {
          if (rep.ok)
            protocol::encode(protocol::persisted_ack{(*seqs)[i], rep.first_seq + i}, frame);
          else
            protocol::encode(protocol::negative_ack{(*seqs)[i],
                                                    rep.error_code == "queue_full" ? protocol::nack_reason::queue_full
                                                                                   : protocol::nack_reason::journal_error,
                                                    rep.error_code + ": " + rep.error},
                             frame);
        }
        if (rep.ok) {
          st->persisted += seqs->size();
          auto took = std::chrono::steady_clock::now() - received;
          for (std::size_t i = 0; i < seqs->size(); ++i)
            metrics::live_metrics::instance().observe_persisted_ack(took);
        } else {
          st->reject(rep.error_code == "queue_full" ? "queue_full" : "journal_error", seqs->size());
        }
        self->write(h, frame.size(), frame.data());
        self->flush(h);
      },
      [=](caf::error& err) {
        auto it = st->sessions.find(h);
        if (it == st->sessions.end())
          return;
        it->second.outstanding -= seqs->size();
        std::string frame;
        for (auto seq : *seqs)
          protocol::encode(protocol::negative_ack{seq, protocol::nack_reason::shutting_down,
                                                  "journal unavailable: " + self->system().render(err)},
                           frame);
        st->reject("shutting_down", seqs->size());
        self->write(h, frame.size(), frame.data());
        self->flush(h);
      });
}

void on_frames(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h) {
  auto it = st->sessions.find(h);
  if (it == st->sessions.end())
    return;
  auto& s = it->second;
  std::shared_ptr<std::vector<journal::record>> batch;
  std::vector<std::uint64_t> pub_seqs;
  std::string buf;
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch()).count();
  while (auto frame = s.reader.next()) {
    auto msg = protocol::decode(*frame, st->ctx->max_frame_bytes);
    if (!msg) {
      drop(self, st, h, protocol::close_code::bad_frame, "bad frame: " + msg.error().message);
      return;
    }
    auto& m = msg.value();
    if (!s.greeted) {
      auto* hello = std::get_if<protocol::client_hello>(&m);
      if (!hello) {
        drop(self, st, h, protocol::close_code::bad_frame, "expected client_hello first");
        return;
      }
      auto v = protocol::check_version(*hello);
      if (!v.compatible) {
        drop(self, st, h, protocol::close_code::version_mismatch, v.message);
        return;
      }
      s.greeted = true;
      s.name = hello->client_name;
      write_message(self, h, protocol::client_hello{protocol::protocol_major, protocol::protocol_minor, st->ctx->name},
                    buf);
      self->flush(h);
      continue;
    }
    if (auto* p = std::get_if<protocol::publish>(&m)) {
      if (!batch)
        batch = std::make_shared<std::vector<journal::record>>();
      journal::record r;
      r.publisher = std::move(p->publisher_id);
      r.publisher_seq = p->publisher_seq;
      r.timestamp_ns = now_ns;
      r.topic = std::move(p->topic);
      r.payload = std::move(p->payload);
      batch->push_back(std::move(r));
      pub_seqs.push_back(p->publisher_seq);
    } else if (std::get_if<protocol::heartbeat>(&m)) {
      write_message(self, h, protocol::heartbeat{static_cast<std::uint64_t>(now_ns)}, buf);
      self->flush(h);
    } else if (auto* sub = std::get_if<protocol::subscribe>(&m)) {
      try {
        std::regex check{sub->topic_regex, std::regex::ECMAScript};
      } catch (const std::regex_error& e) {
        drop(self, st, h, protocol::close_code::bad_frame,
             "subscribe: invalid topic regex '" + sub->topic_regex + "': " + e.what());
        return;
      }
      if (auto old = s.subscriptions.find(sub->subscription_id); old != s.subscriptions.end())
        self->send_exit(old->second, caf::exit_reason::user_shutdown);
      subscription_args args;
      args.ctx = st->ctx;
      args.listener = caf::actor_cast<caf::actor>(self);
      args.conn = h;
      args.id = sub->subscription_id;
      args.topic_regex = sub->topic_regex;
      if (sub->from_flag)
        args.from_seq = sub->from_seq;
      self->ack_writes(h, true);
      s.subscriptions[sub->subscription_id] = spawn_subscription(self->system(), std::move(args));
    } else if (auto* unsub = std::get_if<protocol::unsubscribe>(&m)) {
      if (auto it2 = s.subscriptions.find(unsub->subscription_id); it2 != s.subscriptions.end()) {
        self->send_exit(it2->second, caf::exit_reason::user_shutdown);
        s.subscriptions.erase(it2);
      }
    } else if (std::get_if<protocol::close_frame>(&m)) {
      self->close(h);
      end_session(self, st, h);
      return;
    } else {
      drop(self, st, h, protocol::close_code::bad_frame,
           std::string{"unexpected "} + std::string{protocol::frame_type_name(protocol::type_of(m))}
             + " on a client connection");
      return;
    }
  }
  if (batch)
    submit(self, st, h, s, std::move(batch), std::move(pub_seqs));
}

caf::behavior client_listener(instrumented<caf::io::broker>* self, int fd, std::shared_ptr<const replication_context> ctx,
                              std::uint32_t max_connections, std::size_t max_outstanding) {
  self->bind_probe("client-sessions");
  auto st = std::make_shared<clients_state>();
  st->ctx = std::move(ctx);
  st->max_connections = max_connections;
  st->max_outstanding = max_outstanding;
  self->add_doorman(fd);
  // On the node's shutdown: stop every subscription and drop every actor handle, since a quit
  // broker can outlive its quit (pending timers hold it) and must not keep detached actors alive.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    std::vector<caf::io::connection_handle> open;
    for (const auto& [h, s] : st->sessions)
      open.push_back(h);
    for (auto h : open)
      end_session(self, st, h);
    st->ctx.reset();
    self->quit(msg.reason);
  });
  return {
    [=](const caf::io::new_connection_msg& msg) {
      if (st->sessions.size() >= st->max_connections) {
        log::warn(component, "refusing client connection: ", st->max_connections, " connections open");
        self->close(msg.handle);
        return;
      }
      auto [it, added] = st->sessions.try_emplace(msg.handle, st->ctx->max_frame_bytes);
      it->second.epoch = ++st->next_epoch;
      self->configure_read(msg.handle, caf::io::receive_policy::at_most(64 * 1024));
      arm_timer(st->ctx->timers, st->ctx->handshake_timeout, self->address(),
                caf::make_message(atoms::conn_timeout::value, msg.handle, it->second.epoch));
    },
    [=](const caf::io::new_data_msg& msg) {
      auto it = st->sessions.find(msg.handle);
      if (it == st->sessions.end())
        return;
      if (!it->second.reader.feed({reinterpret_cast<const char*>(msg.buf.data()), msg.buf.size()})) {
        on_frames(self, st, msg.handle);
        if (st->sessions.count(msg.handle))
          drop(self, st, msg.handle, protocol::close_code::bad_frame,
               "bad frame: " + st->sessions.at(msg.handle).reader.error().message);
        return;
      }
      on_frames(self, st, msg.handle);
    },
    [=](const caf::io::connection_closed_msg& msg) { end_session(self, st, msg.handle); },
    [=](atoms::deliver, caf::io::connection_handle h, std::uint64_t id, const frame_bytes& f) {
      auto it = st->sessions.find(h);
      if (it == st->sessions.end() || !f.bytes)
        return;
      auto& s = it->second;
      auto sub = s.subscriptions.find(id);
      if (sub == s.subscriptions.end())
        return; // unsubscribed meanwhile
      self->write(h, f.bytes->size(), f.bytes->data());
      self->flush(h);
      s.unsent_bytes += f.bytes->size();
      if (s.unsent_bytes < subscriber_buffer_bytes)
        self->send(sub->second, atoms::credit::value);
      else
        s.waiting_for_credit.push_back(sub->second);
    },
    [=](const caf::io::data_transferred_msg& msg) {
      auto it = st->sessions.find(msg.handle);
      if (it == st->sessions.end())
        return;
      auto& s = it->second;
      s.unsent_bytes = msg.remaining;
      if (s.unsent_bytes < subscriber_buffer_bytes) {
        for (auto& sub : s.waiting_for_credit)
          self->send(sub, atoms::credit::value);
        s.waiting_for_credit.clear();
      }
    },
    [=](atoms::conn_timeout, caf::io::connection_handle h, std::uint64_t epoch) {
      auto it = st->sessions.find(h);
      if (it != st->sessions.end() && it->second.epoch == epoch && !it->second.greeted)
        drop(self, st, h, protocol::close_code::handshake_timeout, "no client_hello within the handshake timeout");
    },
    [=](atoms::status) -> std::string {
      std::size_t subscribers = 0, publishers = 0;
      for (const auto& [h, s] : st->sessions) {
        subscribers += s.subscriptions.empty() ? 0 : 1;
        publishers += s.published_any ? 1 : 0;
      }
      nlohmann::json j{{"connections", st->sessions.size()},
                       {"subscribers", subscribers},
                       {"publishers", publishers},
                       {"published", st->published},
                       {"persisted", st->persisted},
                       {"rejected", st->rejected},
                       {"rejected_by_reason", st->rejected_by_reason}};
      return j.dump();
    },
    [=](const caf::io::acceptor_closed_msg&) { log::error(component, "client listener closed by the system"); },
  };
}

} // namespace

caf::actor spawn_client_listener(caf::actor_system& sys, int listen_fd, std::shared_ptr<const replication_context> ctx,
                                 std::uint32_t max_connections, std::size_t max_outstanding) {
  return sys.middleman().spawn_broker(client_listener, listen_fd, std::move(ctx), max_connections, max_outstanding);
}

} // namespace tandem
