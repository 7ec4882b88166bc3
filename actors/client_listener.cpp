#include "actors/client_listener.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include <sys/socket.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/atoms.hpp"
#include "actors/instrumented_actor.hpp"
#include "actors/log.hpp"
#include "actors/login_worker.hpp"
#include "actors/logic/ack_wait_notice.hpp"
#include "actors/logic/connection_deadlines.hpp"
#include "actors/logic/memory_budget.hpp"
#include "actors/logic/publish_admission.hpp"
#include "actors/metrics/live_metrics.hpp"
#include "actors/replication_messages.hpp"
#include "actors/subscription.hpp"
#include "actors/timer_relay.hpp"
#include "config/pattern.hpp"
#include "journal/hop_trace.hpp"
#include "protocol/codec.hpp"
#include "protocol/frame_reader.hpp"
#include "protocol/version.hpp"
#include "tls/link_transport.hpp"

namespace tandem {

namespace {

constexpr std::string_view component = "clients";

using steady_ms = std::chrono::milliseconds;

steady_ms steady_now() {
  return std::chrono::duration_cast<steady_ms>(std::chrono::steady_clock::now().time_since_epoch());
}

struct session {
  session(const replication_context& ctx, steady_ms now)
    : reader(ctx.max_frame_bytes), buffers(ctx.budget, ctx.limits->max_connection_buffer_bytes.load()),
      deadlines(ctx.limits->frame_timeout(), ctx.limits->client_idle_timeout(), now) {}
  protocol::frame_reader reader;
  // The one byte path to and from the socket (issue 18): bytes as they are, or a TLS session when
  // client.tls is on. Every write of this listener goes through emit(); only the answer to a
  // client speaking the wrong protocol bypasses it (on_transport_failed).
  tls::link_transport transport;
  std::string cert_user; // tandem:user/NAME of a verified client certificate (empty: none)
  logic::connection_buffers buffers;     // what it holds of the node-wide budget
  logic::connection_deadlines deadlines; // read progress and idle, after client_hello
  std::size_t frames_in = 0;             // complete frames taken from the reader
  bool greeted = false;
  bool logging_in = false; // issue 18: the hello's credentials are being checked (login_worker.hpp)
  // The logged-in user and the table it was found in (kept: a reload applies to new logins); none
  // when the node has no auth.users_file.
  std::shared_ptr<const config::users_table> users;
  const config::user_entry* user = nullptr;
  std::string name;
  std::uint16_t minor = 0; // the client's protocol minor version (1.1+: subscription_gap frames;
                           // 1.2+: persisted_partial, replicated and waiting frames)
  std::uint64_t epoch = 0;
  std::size_t outstanding = 0;
  bool published_any = false;                        // counts as a publisher in the status
  std::map<std::uint64_t, subscription_actor> subscriptions; // by subscription id
  std::size_t unsent_bytes = 0;                      // written to CAF, not yet on the wire
  std::vector<subscription_actor> waiting_for_credit; // subscriptions parked until the buffer drains
  std::string peer;                                  // remote address:port, for messages
  std::set<std::string> logons;                      // publisher ids this connection claims
  std::set<std::string> published_ids;               // ids it published under (at most max_tracked_ids)
  std::string last_published_id;                     // the id of its latest tracked publish
  logic::ack_wait_notice wait_notice;                // when to send `waiting` (1.2)
  // Ack frames of submitted batches, in submission order: a batch whose records were all held
  // already can be answered before an earlier batch, and acks must go out in publish order.
  // At most one slot per outstanding batch (bounded by max_outstanding publishes).
  struct ack_slot {
    std::uint64_t id = 0;
    bool ready = false;
    std::string frames;
    steady_ms submitted{}; // when the batch went to the journal (the `waiting` rule)
  };
  std::deque<ack_slot> acks;
  std::uint64_t next_ack_slot = 0;
};

// A connection may log on at most this many publisher ids (each claim lives until it closes).
constexpr std::size_t max_logons_per_connection = 1024;

// Publisher ids a connection is remembered under for `replicated` notes without a logon (the
// last connection that published under an id gets its notes); beyond this, a logon is needed.
constexpr std::size_t max_tracked_ids = 1024;

// A subscriber's connection may hold at most this much unsent data; beyond it, its
// subscriptions wait (each has at most one chunk in flight on top).
constexpr std::size_t subscriber_buffer_bytes = 1u << 20;

// Before client_hello only the hello itself is expected, and it is small: a longer frame closes
// the connection as soon as its header arrives (a stranger cannot make the node buffer 16 MiB).
constexpr std::size_t max_frame_before_hello = 64 * 1024;

// atoms of the listener's own periodic check of the timeouts
using client_sweep = caf::atom_constant<caf::atom("tclsweep")>;

struct clients_state {
  std::shared_ptr<const replication_context> ctx;
  std::uint32_t max_connections = 0;
  std::size_t max_outstanding = 0;
  std::unordered_map<caf::io::connection_handle, session> sessions;
  // Publishes sent to the journal and not answered yet, by request id: answered by the journal's
  // reply, or sooner by the committer thread (atoms::publish_durable, append_request::
  // durable_notice) when the journal decided the commit alone answers it; the first answer
  // counts, the other finds nothing here. Bounded: at most max_outstanding per connection.
  struct publish_wait {
    caf::io::connection_handle h;
    std::uint64_t slot = 0;
    std::shared_ptr<std::vector<std::uint64_t>> seqs;
    std::chrono::steady_clock::time_point received;
  };
  std::unordered_map<std::uint64_t, publish_wait> publish_waits;
  std::uint64_t next_publish_id = 0;
  std::uint64_t early_acks = 0; // publishes answered by the committer's notice
  std::uint64_t next_epoch = 0;
  std::uint64_t published = 0, persisted = 0, rejected = 0;
  std::uint64_t already_held = 0; // persisted acks with journal_seq 0 (the duplicate rule)
  // Protocol 1.2 (docs/protocol.md client sessions 9): persisted_partial frames sent, the acks
  // that were partial but went to a client of minor < 2 as plain persisted_ack, replicated notes
  // sent and those with no 1.2 connection to go to, waiting notices sent.
  std::uint64_t partial_acks = 0, partial_acks_plain = 0;
  std::uint64_t replicated_notes = 0, replicated_notes_unrouted = 0;
  std::uint64_t waiting_notices = 0;
  // publisher id -> the connection that last published under it (entries removed with the session)
  std::unordered_map<std::string, caf::io::connection_handle> publishing;
  std::uint64_t logons = 0, logons_refused = 0;
  std::uint64_t subscription_gaps = 0, subscription_gap_records = 0; // ranges (and records) subscriptions missed
  // publisher id -> the one live connection logged on with it (entries removed with the session)
  std::unordered_map<std::string, caf::io::connection_handle> claims;
  std::map<std::string, std::uint64_t> rejected_by_reason; // negative acks sent, by reason name
  std::map<std::string, std::uint64_t> closed_by_reason;   // connections closed by the node, by close code
  caf::actor login_worker;                                 // password checks off this thread (issue 18)
  std::size_t logins_pending = 0;                          // at most max_pending_logins
  std::uint64_t logins = 0, subscriptions_not_entitled = 0;
  // Client TLS (issue 18): logins by certificate, handshakes that failed, clients refused for
  // speaking the other protocol (plaintext on a TLS port or TLS on a plaintext one).
  std::uint64_t certificate_logins = 0, tls_handshake_failures = 0, wrong_protocol = 0;

  void reject(std::string_view reason, std::size_t n) {
    rejected += n;
    rejected_by_reason[std::string{reason}] += n;
  }
};

using state_ptr = std::shared_ptr<clients_state>;

// Bytes for the client, through its transport (encrypted with TLS). CAF queues them until flush.
void emit(caf::io::broker* self, session& s, caf::io::connection_handle h, std::string_view bytes) {
  if (!s.transport.tls()) {
    self->write(h, bytes.size(), bytes.data());
    return;
  }
  const auto wire = s.transport.send(bytes);
  if (!wire.empty())
    self->write(h, wire.size(), wire.data());
}

void emit(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, std::string_view bytes) {
  if (auto it = st->sessions.find(h); it != st->sessions.end())
    emit(self, it->second, h, bytes);
}

void write_message(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, const protocol::message& m,
                   std::string& scratch) {
  scratch.clear();
  if (protocol::encode(m, scratch))
    emit(self, st, h, scratch);
}

// Forgets a connection and stops its subscriptions.
void end_session(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h) {
  auto it = st->sessions.find(h);
  if (it == st->sessions.end())
    return;
  for (auto& [id, sub] : it->second.subscriptions)
    self->send_exit(sub, caf::exit_reason::user_shutdown);
  for (const auto& id : it->second.logons)
    if (auto c = st->claims.find(id); c != st->claims.end() && c->second == h)
      st->claims.erase(c);
  for (const auto& id : it->second.published_ids)
    if (auto c = st->publishing.find(id); c != st->publishing.end() && c->second == h)
      st->publishing.erase(c);
  st->sessions.erase(it);
}

std::string close_code_label(protocol::close_code code) {
  switch (code) {
    case protocol::close_code::bad_frame: return "bad_frame";
    case protocol::close_code::handshake_timeout: return "handshake_timeout";
    case protocol::close_code::version_mismatch: return "version_mismatch";
    case protocol::close_code::publisher_in_use: return "publisher_in_use";
    case protocol::close_code::resource_limit: return "resource_limit";
    case protocol::close_code::idle_timeout: return "idle_timeout";
    case protocol::close_code::shutdown: return "shutdown";
    case protocol::close_code::auth: return "auth";
    default: return "code_" + std::to_string(static_cast<unsigned>(code));
  }
}

// Resets the socket under CAF (SO_LINGER 0 + shutdown): a client that does not read would keep a
// graceful close, and the output queued for it, pending forever. CAF 0.17's default multiplexer
// names a connection by its socket (connection_handle id == fd); the pending write then fails
// and CAF closes the connection and frees its buffers.
void reset_socket(caf::io::connection_handle h) {
  auto fd = static_cast<int>(h.id());
  ::linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::shutdown(fd, SHUT_RDWR);
}

void drop(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, protocol::close_code code,
          const std::string& reason) {
  log::warn(component, "closing client connection: ", reason);
  if (st->sessions.count(h))
    ++st->closed_by_reason[close_code_label(code)];
  std::string buf;
  write_message(self, st, h, protocol::close_frame{code, reason}, buf);
  self->flush(h);
  self->close(h);
  end_session(self, st, h);
}

// Output accounting: bytes CAF queued for h during one handler are charged to the connection
// (and the node-wide budget). wr_buf(h) is CAF's queue behind the write in progress: while the
// client does not read, every byte written lands there, so its growth over the handler is what
// was queued. When the socket was idle, flush() hands the queue to the socket at once (the
// buffer shrinks) and the next data_transferred_msg reports what is still unsent. Returns false
// when the connection was closed for passing a bound.
bool settle_output(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, std::size_t before) {
  auto it = st->sessions.find(h);
  if (it == st->sessions.end())
    return false;
  auto after = self->wr_buf(h).size();
  auto grown = after >= before ? after - before : after;
  if (grown == 0)
    return true;
  auto& b = it->second.buffers;
  switch (b.on_output(grown)) {
    case logic::connection_buffers::verdict::ok:
      return true;
    case logic::connection_buffers::verdict::over_connection_limit:
      reset_socket(h);
      drop(self, st, h, protocol::close_code::resource_limit,
           "client " + it->second.peer + " does not read: " + std::to_string(b.unsent())
             + " bytes unsent, over limits.max_connection_buffer_bytes (" + std::to_string(st->ctx->limits->max_connection_buffer_bytes.load()) + ")");
      return false;
    case logic::connection_buffers::verdict::over_node_budget:
      reset_socket(h);
      drop(self, st, h, protocol::close_code::resource_limit,
           "node-wide buffer budget exhausted (limits.max_buffered_bytes_total " + std::to_string(st->ctx->budget->limit())
             + ", " + std::to_string(st->ctx->budget->used()) + " in use): cannot queue " + std::to_string(grown)
             + " more bytes for " + it->second.peer);
      return false;
  }
  return true;
}

// After a read whose complete frames were all handled: the frame still being received must fit
// (before client_hello: 64 KiB; after: the node-wide budget, acquired for its whole length now,
// before its body is buffered), and the read-progress and idle clocks move.
void admit_partial_frame(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h,
                         std::size_t frames_before) {
  auto it = st->sessions.find(h);
  if (it == st->sessions.end())
    return;
  auto& s = it->second;
  const auto buffered = s.reader.buffered();
  const std::size_t frame_len = buffered >= protocol::frame_header_bytes ? buffered + s.reader.wanted() : 0;
  if (!s.greeted && frame_len > max_frame_before_hello) {
    drop(self, st, h, protocol::close_code::resource_limit,
         "a frame of " + std::to_string(frame_len) + " bytes before client_hello from " + s.peer + " (at most "
           + std::to_string(max_frame_before_hello) + " before the handshake)");
    return;
  }
  if (s.buffers.on_partial_frame(frame_len) != logic::connection_buffers::verdict::ok) {
    drop(self, st, h, protocol::close_code::resource_limit,
         "node-wide buffer budget exhausted (limits.max_buffered_bytes_total " + std::to_string(st->ctx->budget->limit())
           + ", " + std::to_string(st->ctx->budget->used()) + " in use): cannot take a frame of "
           + std::to_string(frame_len) + " bytes from " + s.peer);
    return;
  }
  s.deadlines.on_read(steady_now(), s.frames_in - frames_before, buffered > 0);
}

// Stores the ack frames of batch `slot` and writes every ready batch at the front, so acks leave in
// submission order whatever order the journal answered in.
void write_acks(caf::io::broker* self, caf::io::connection_handle h, session& s, std::uint64_t slot,
                std::string frames) {
  for (auto& a : s.acks)
    if (a.id == slot) {
      a.ready = true;
      a.frames = std::move(frames);
      break;
    }
  bool wrote = false;
  while (!s.acks.empty() && s.acks.front().ready) {
    emit(self, s, h, s.acks.front().frames);
    wrote = true;
    s.acks.pop_front();
  }
  if (wrote)
    self->flush(h);
}

// A publish's answer (journal_actor.hpp: publish), from the journal's reply or from the committer's
// notice (atoms::publish_durable), whichever comes first: its acks are written in the
// connection's publish order (write_acks).
void answer_publish(caf::io::broker* self, const state_ptr& st, std::uint64_t id, const append_reply& rep) {
  auto w = st->publish_waits.find(id);
  if (w == st->publish_waits.end())
    return; // answered already
  const auto h = w->second.h;
  const auto slot = w->second.slot;
  const auto seqs = std::move(w->second.seqs);
  const auto received = w->second.received;
  st->publish_waits.erase(w);
  auto it = st->sessions.find(h);
  if (it == st->sessions.end())
    return; // the publisher went away; the records are stored and replicate anyway
  it->second.outstanding -= seqs->size();
  std::string frame;
  // Released while sync destinations it needed were downgraded: a 1.2 client is told who
  // lacks it (persisted_partial), an older one gets the plain ack (docs/protocol.md).
  const bool partial = rep.ok && !rep.not_on.empty();
  const bool tell_partial = partial && it->second.minor >= 2;
  std::vector<std::string> not_on;
  if (tell_partial) {
    not_on.assign(rep.not_on.begin(),
                  rep.not_on.begin() + static_cast<std::ptrdiff_t>(
                                         std::min(rep.not_on.size(), protocol::max_destination_names)));
    std::sort(not_on.begin(), not_on.end());
    not_on.erase(std::unique(not_on.begin(), not_on.end()), not_on.end());
  }
  std::size_t next_held = 0, next_refused = 0; // rep.held and rep.refused are ascending
  std::uint64_t next_seq = rep.first_seq;
  for (std::size_t i = 0; i < seqs->size(); ++i) {
    if (rep.ok && next_refused < rep.refused.size() && rep.refused[next_refused].index == i) {
      const auto& r = rep.refused[next_refused++]; // refused on its own (journal_actor.hpp)
      const auto why = logic::nack_reason_for(r.code);
      protocol::encode(protocol::negative_ack{(*seqs)[i], why, r.code + ": " + r.reason}, frame);
      st->reject(logic::nack_reason_name(why), 1);
    } else if (rep.ok) {
      bool held = next_held < rep.held.size() && rep.held[next_held] == i;
      if (held)
        ++next_held; // already held: acked in its place, journal_seq 0, not stored again
      const std::uint64_t journal_seq = held ? 0 : next_seq++;
      if (tell_partial)
        protocol::encode(protocol::persisted_partial{(*seqs)[i], journal_seq, not_on}, frame);
      else
        protocol::encode(protocol::persisted_ack{(*seqs)[i], journal_seq}, frame);
    } else
      protocol::encode(protocol::negative_ack{(*seqs)[i], logic::nack_reason_for(rep.error_code),
                                              rep.error_code + ": " + rep.error},
                       frame);
  }
  if (rep.ok) {
    const auto acked = seqs->size() - rep.refused.size();
    st->persisted += acked;
    st->already_held += rep.held.size();
    if (partial)
      (tell_partial ? st->partial_acks : st->partial_acks_plain) += acked;
    auto took = std::chrono::steady_clock::now() - received;
    for (std::size_t i = 0; i < acked; ++i)
      metrics::live_metrics::instance().observe_persisted_ack(took);
  } else {
    st->reject(logic::nack_reason_name(logic::nack_reason_for(rep.error_code)), seqs->size());
  }
  auto before = self->wr_buf(h).size();
  write_acks(self, h, it->second, slot, std::move(frame));
  settle_output(self, st, h, before);
  hop_trace::mark(hop_trace::point::client_ack, rep.ok && next_seq > rep.first_seq ? next_seq - 1 : 0);
}

void submit(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, session& s,
            std::shared_ptr<std::vector<journal::record>> batch, std::vector<std::uint64_t> pub_seqs) {
  std::string buf;
  if (s.outstanding + pub_seqs.size() > st->max_outstanding) {
    for (auto seq : pub_seqs)
      write_message(self, st, h, protocol::negative_ack{seq, protocol::nack_reason::queue_full,
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
  auto slot = s.next_ack_slot++;
  s.acks.push_back({slot, false, {}, steady_now()});
  const auto id = st->next_publish_id++;
  st->publish_waits.emplace(id, clients_state::publish_wait{h, slot, seqs, std::chrono::steady_clock::now()});
  append_request req{std::move(batch)};
  req.durable_notice = id; // the committer may answer first (atoms::publish_durable)
  self->request(st->ctx->journal, caf::infinite, atoms::publish::value, std::move(req))
    .then(
      [=](const append_reply& rep) { answer_publish(self, st, id, rep); },
      [=](caf::error& err) {
        if (st->publish_waits.erase(id) == 0)
          return; // answered by the committer's notice
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
        auto before = self->wr_buf(h).size();
        write_acks(self, h, it->second, slot, std::move(frame));
        settle_output(self, st, h, before);
      });
}

// Checks the pattern (config/pattern.hpp, the dialect the subscription runs) and starts (or
// replaces) a subscription. False when the connection was dropped.
bool start_subscription(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, session& s,
                        subscription_args args, std::string_view frame) {
  if (!s.subscriptions.count(args.id) && s.subscriptions.size() >= st->ctx->limits->max_subscriptions_per_connection.load()) {
    drop(self, st, h, protocol::close_code::resource_limit,
         std::string{frame} + " " + std::to_string(args.id) + ": this connection already has "
           + std::to_string(s.subscriptions.size()) + " subscriptions (limits.max_subscriptions_per_connection)");
    return false;
  }
  auto compiled = config::pattern::compile(args.topic_regex);
  if (auto* error = std::get_if<std::string>(&compiled)) {
    // The pattern (and RE2's reason, which quotes it) may be up to 64 KiB: cut it so that the
    // close frame's reason always fits its string field.
    constexpr std::size_t max_reason_bytes = 1024;
    std::string reason = std::string{frame} + ": invalid topic regex '" + args.topic_regex + "': " + *error;
    if (reason.size() > max_reason_bytes)
      reason = reason.substr(0, max_reason_bytes) + "...";
    drop(self, st, h, protocol::close_code::bad_frame, reason);
    return false;
  }
  if (s.user && !s.users->may_subscribe(*s.user, args.topic_regex)) { // issue 18: its subscribe patterns
    ++st->subscriptions_not_entitled;
    std::string reason = std::string{frame} + " " + std::to_string(args.id) + ": user '" + s.user->name +
                         "' may not subscribe to '" + args.topic_regex +
                         "' (use one of its subscribe patterns in auth.users_file, or a plain topic one matches)";
    drop(self, st, h, protocol::close_code::auth, reason.size() > 1024 ? reason.substr(0, 1024) + "..." : reason);
    return false;
  }
  if (auto old = s.subscriptions.find(args.id); old != s.subscriptions.end())
    self->send_exit(old->second, caf::exit_reason::user_shutdown);
  args.ctx = st->ctx;
  args.listener = caf::actor_cast<client_listener_actor>(self);
  args.conn = h;
  args.gap_notices = s.minor >= 1;
  auto id = args.id;
  self->ack_writes(h, true);
  s.subscriptions[id] = spawn_subscription(self->system(), std::move(args));
  return true;
}

// Answers a publish the admission rule refused (logic/publish_admission.hpp): the batch gathered
// so far is submitted first and the negative ack takes the next ack slot, so acks still leave in
// publish order. The record is never journaled.
void refuse_publish(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, session& s,
                    std::shared_ptr<std::vector<journal::record>>& batch, std::vector<std::uint64_t>& pub_seqs,
                    std::uint64_t publisher_seq, const logic::publish_refusal& refusal) {
  if (batch) {
    submit(self, st, h, s, std::move(batch), std::move(pub_seqs));
    batch.reset();
    pub_seqs.clear();
  }
  log::debug(component, "refusing publish ", publisher_seq, " from '", s.name, "' (", s.peer, "): ", refusal.reason_name,
            ": ", refusal.message);
  std::string frame;
  protocol::encode(protocol::negative_ack{publisher_seq, refusal.reason, refusal.message}, frame);
  st->reject(refusal.reason_name, 1);
  auto slot = s.next_ack_slot++;
  s.acks.push_back({slot, false, {}, steady_now()});
  write_acks(self, h, s, slot, std::move(frame));
}

// publisher_logon: one live connection per id (docs/protocol.md, client sessions 2). False when
// the connection was dropped.
bool on_logon(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, session& s,
              const std::string& id) {
  if (auto c = st->claims.find(id); c != st->claims.end() && c->second != h) {
    ++st->logons_refused;
    auto other = st->sessions.find(c->second);
    std::string who = other == st->sessions.end() ? std::string{"?"}
                                                  : "'" + other->second.name + "' from " + other->second.peer;
    drop(self, st, h, protocol::close_code::publisher_in_use,
         "publisher '" + id + "' is logged on by another connection (" + who + ")");
    return false;
  }
  if (!s.logons.count(id) && s.logons.size() >= max_logons_per_connection) {
    drop(self, st, h, protocol::close_code::bad_frame,
         "publisher_logon: more than " + std::to_string(max_logons_per_connection) + " publisher ids on one connection");
    return false;
  }
  s.logons.insert(id);
  st->claims[id] = h;
  ++st->logons;
  auto epoch = s.epoch;
  self->request(st->ctx->journal, caf::infinite, atoms::logon::value, id)
    .then(
      [=](std::uint64_t persisted, std::uint64_t complete) {
        auto it = st->sessions.find(h);
        if (it == st->sessions.end() || it->second.epoch != epoch)
          return;
        // 1.2+: the complete mark, so messages acked partially are resent, not dropped
        // (docs/protocol.md, publisher_logon_ack).
        const auto highest = it->second.minor >= 2 ? complete : persisted;
        std::string buf;
        auto before = self->wr_buf(h).size();
        write_message(self, st, h, protocol::publisher_logon_ack{id, highest}, buf);
        self->flush(h);
        settle_output(self, st, h, before);
      },
      [=](caf::error& err) {
        if (st->sessions.count(h))
          drop(self, st, h, protocol::close_code::shutdown, "journal unavailable: " + self->system().render(err));
      });
  return true;
}

// The handshake's end: our client_hello; from here on the connection may publish and subscribe.
void greet(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, session& s, std::string& buf) {
  s.greeted = true;
  write_message(self, st, h, protocol::client_hello{protocol::protocol_major, protocol::protocol_minor, st->ctx->name}, buf);
  self->flush(h);
}

// A failed login (issue 18): counted and logged (the user, never the password), and closed with
// close{auth} after login_failure_delay, on a timer, whatever the reason (the client is not told
// which). Frames it sends meanwhile close it at once.
constexpr std::chrono::milliseconds login_failure_delay{1000};
using login_failed = caf::atom_constant<caf::atom("loginfail")>;

void fail_login(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, session& s,
                logic::login_failure why, const std::string& user) {
  st->ctx->access->count_login_failure(why);
  log::warn(component, "client login failed from ", s.peer, ": user '", user, "' ",
            logic::to_string(why), " (client '", s.name, "'); closing with close{auth} in ", login_failure_delay.count(),
            " ms");
  s.logging_in = true; // until the close: any frame closes it now
  arm_timer(st->ctx->timers, login_failure_delay, self->address(), caf::make_message(login_failed::value, h, s.epoch));
}

// The hello's user and password against the users table, on the login worker. False when the
// connection was dropped.
bool start_login(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, session& s,
                 const protocol::client_hello& hello, std::shared_ptr<const config::users_table> users) {
  if (hello.user.empty()) {
    fail_login(self, st, h, s, logic::login_failure::no_credentials, hello.user);
    return true;
  }
  if (st->logins_pending >= max_pending_logins) {
    st->ctx->access->count_login_failure(logic::login_failure::busy);
    drop(self, st, h, protocol::close_code::resource_limit,
         std::to_string(st->logins_pending) + " logins are being checked; try again later");
    return false;
  }
  s.logging_in = true;
  ++st->logins_pending;
  const auto epoch = s.epoch;
  const std::string user = hello.user;
  self->request(st->login_worker, caf::infinite, login_check::value, users, user, hello.password)
    .then(
      [=](std::uint8_t result) {
        --st->logins_pending;
        auto it = st->sessions.find(h);
        if (it == st->sessions.end() || it->second.epoch != epoch)
          return;
        auto& s2 = it->second;
        const auto r = static_cast<config::login_result>(result);
        if (r != config::login_result::ok)
          return fail_login(self, st, h, s2,
                            r == config::login_result::unknown_user ? logic::login_failure::unknown_user
                                                                    : logic::login_failure::bad_password,
                            user);
        s2.logging_in = false;
        s2.users = users;
        s2.user = users->find(user);
        ++st->logins;
        std::string buf;
        const auto before = self->wr_buf(h).size();
        greet(self, st, h, s2, buf);
        settle_output(self, st, h, before);
      },
      [=](caf::error& err) {
        --st->logins_pending;
        if (st->sessions.count(h))
          drop(self, st, h, protocol::close_code::shutdown, "login check unavailable: " + self->system().render(err));
      });
  return true;
}

// The first frame of a connection: client_hello, answered with ours. False when the connection
// was dropped.
bool on_first_frame(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, session& s,
                    protocol::message& m, std::string& buf) {
  auto* hello = std::get_if<protocol::client_hello>(&m);
  if (!hello) {
    drop(self, st, h, protocol::close_code::bad_frame, "expected client_hello first");
    return false;
  }
  auto v = protocol::check_version(*hello);
  if (!v.compatible) {
    drop(self, st, h, protocol::close_code::version_mismatch, v.message);
    return false;
  }
  s.name = hello->client_name;
  s.minor = hello->protocol_major == protocol::protocol_major ? hello->protocol_minor : 0;
  auto users = st->ctx->access->users();
  std::optional<std::string> cert_user;
  if (!s.cert_user.empty())
    cert_user = s.cert_user;
  const auto route = logic::route_login(users != nullptr, cert_user, hello->user);
  switch (route.how) {
    case logic::login_route::kind::refused:
      log::warn(component, "client ", s.peer, " presents a certificate for user '", route.user, "' but its hello says '",
                hello->user, "'");
      fail_login(self, st, h, s, route.failure, hello->user);
      return true;
    case logic::login_route::kind::password:
      return start_login(self, st, h, s, *hello, std::move(users));
    case logic::login_route::kind::certificate: {
      const auto* u = users->find(route.user);
      if (!u) {
        fail_login(self, st, h, s, logic::login_failure::unknown_user, route.user);
        return true;
      }
      s.users = std::move(users);
      s.user = u;
      ++st->logins;
      ++st->certificate_logins;
      log::debug(component, "client ", s.peer, " ('", s.name, "') logged in as '", route.user, "' by its certificate");
      break;
    }
    case logic::login_route::kind::open:
      break;
  }
  greet(self, st, h, s, buf);
  return true;
}

// A publish joins the batch of this read, unless it is refused at once (answered in order).
void on_publish(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, session& s,
                protocol::publish& p, std::shared_ptr<std::vector<journal::record>>& batch,
                std::vector<std::uint64_t>& pub_seqs, std::int64_t now_ns, std::string& buf) {
  hop_trace::mark(hop_trace::point::client_read);
  if (auto c = st->claims.find(p.publisher_id); c != st->claims.end() && c->second != h) {
    write_message(self, st, h, protocol::negative_ack{p.publisher_seq, protocol::nack_reason::bad_request,
                                                  "publisher '" + p.publisher_id + "' is logged on by another connection"},
                  buf);
    self->flush(h);
    st->reject("bad_request", 1);
    return;
  }
  if (auto refusal = logic::check_publish({st->ctx->name, st->ctx->limits->max_topic_bytes.load(), st->ctx->max_frame_bytes}, p)) {
    refuse_publish(self, st, h, s, batch, pub_seqs, p.publisher_seq, *refusal);
    return;
  }
  if (s.user && !s.users->may_publish(*s.user, p.topic)) { // issue 18: the user's publish patterns
    refuse_publish(self, st, h, s, batch, pub_seqs, p.publisher_seq,
                   {protocol::nack_reason::not_entitled, "not_entitled",
                    "user '" + s.user->name + "' may not publish to this topic (its publish patterns in auth.users_file)"});
    return;
  }
  if (!batch)
    batch = std::make_shared<std::vector<journal::record>>();
  // The connection that `replicated` notes for this id go to when no connection is logged on with
  // it. Looked up only when the id changes: a publisher sends one id over and over.
  if (p.publisher_id != s.last_published_id &&
      (s.published_ids.count(p.publisher_id) || s.published_ids.size() < max_tracked_ids)) {
    s.published_ids.insert(p.publisher_id);
    st->publishing[p.publisher_id] = h;
    s.last_published_id = p.publisher_id;
  }
  journal::record r;
  r.publisher = std::move(p.publisher_id);
  r.publisher_seq = p.publisher_seq;
  r.timestamp_ns = now_ns;
  r.topic = std::move(p.topic);
  r.payload = std::move(p.payload);
  batch->push_back(std::move(r));
  pub_seqs.push_back(p.publisher_seq);
}

// What a subscribe_from frame asks for, as the subscription's arguments.
subscription_args subscribe_from_args(const protocol::subscribe_from& subf) {
  subscription_args args;
  args.id = subf.subscription_id;
  args.topic_regex = subf.topic_regex;
  args.bookmark_filter = true;
  for (const auto& e : subf.bookmark)
    args.bookmark.emplace_back(e.origin_instance, e.origin_seq);
  args.fully_durable = subf.fully_durable;
  switch (subf.start) {
    case protocol::subscribe_start::after_bookmark:
    case protocol::subscribe_start::oldest:
      args.from_seq = 1; // the oldest record held (a trimmed start moves up to it)
      break;
    case protocol::subscribe_start::now:
      break; // the durable end
    case protocol::subscribe_start::from_time:
      args.from_time_ns = subf.time_ns;
      break;
  }
  return args;
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
    ++s.frames_in;
    auto msg = protocol::decode(*frame, st->ctx->max_frame_bytes);
    if (!msg) {
      drop(self, st, h, protocol::close_code::bad_frame, "bad frame: " + msg.error().message);
      return;
    }
    auto& m = msg.value();
    if (s.logging_in) {
      drop(self, st, h, protocol::close_code::auth, "a frame before the login completed");
      return;
    }
    if (!s.greeted) {
      if (!on_first_frame(self, st, h, s, m, buf))
        return;
      continue;
    }
    if (auto* p = std::get_if<protocol::publish>(&m)) {
      on_publish(self, st, h, s, *p, batch, pub_seqs, now_ns, buf);
    } else if (std::get_if<protocol::heartbeat>(&m)) {
      write_message(self, st, h, protocol::heartbeat{static_cast<std::uint64_t>(now_ns)}, buf);
      self->flush(h);
    } else if (auto* logon = std::get_if<protocol::publisher_logon>(&m)) {
      if (!on_logon(self, st, h, s, logon->publisher_id))
        return;
    } else if (auto* sub = std::get_if<protocol::subscribe>(&m)) {
      subscription_args args;
      args.id = sub->subscription_id;
      args.topic_regex = sub->topic_regex;
      if (sub->from_flag)
        args.from_seq = sub->from_seq;
      if (!start_subscription(self, st, h, s, std::move(args), "subscribe"))
        return;
    } else if (auto* subf = std::get_if<protocol::subscribe_from>(&m)) {
      if (!start_subscription(self, st, h, s, subscribe_from_args(*subf), "subscribe_from"))
        return;
    } else if (auto* unsub = std::get_if<protocol::unsubscribe>(&m)) {
      if (auto it2 = s.subscriptions.find(unsub->subscription_id); it2 != s.subscriptions.end()) {
        self->send_exit(it2->second, caf::exit_reason::user_shutdown);
        s.subscriptions.erase(it2);
      }
    } else if (std::get_if<protocol::close_frame>(&m)) {
      if (batch) // the publishes read with the close come before it: published, as in an earlier read
        submit(self, st, h, s, std::move(batch), std::move(pub_seqs));
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

// A subscription's chunk of frames: written out; the subscription gets credit for the next one
// while the connection's unsent output stays below subscriber_buffer_bytes.
void on_deliver(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, std::uint64_t id,
                const frame_bytes& f) {
  auto it = st->sessions.find(h);
  if (it == st->sessions.end() || !f.bytes)
    return;
  auto& s = it->second;
  auto sub = s.subscriptions.find(id);
  if (sub == s.subscriptions.end())
    return; // unsubscribed meanwhile
  emit(self, s, h, *f.bytes);
  self->flush(h);
  s.unsent_bytes += f.bytes->size();
  // Charged whatever the budget says: the chunk exists already, and the subscription's flow
  // control (one chunk in flight, credit below subscriber_buffer_bytes) bounds it.
  s.buffers.on_output(f.bytes->size(), true);
  if (s.unsent_bytes < subscriber_buffer_bytes)
    self->send(sub->second, atoms::credit::value);
  else
    s.waiting_for_credit.push_back(sub->second);
}

// Output left for the wire: parked subscriptions get their credit once it drained enough.
void on_transferred(caf::io::broker* self, const state_ptr& st, const caf::io::data_transferred_msg& msg) {
  auto it = st->sessions.find(msg.handle);
  if (it == st->sessions.end())
    return;
  auto& s = it->second;
  s.unsent_bytes = msg.remaining;
  s.buffers.on_output_remaining(msg.remaining);
  if (s.unsent_bytes < subscriber_buffer_bytes) {
    for (auto& sub : s.waiting_for_credit)
      self->send(sub, atoms::credit::value);
    s.waiting_for_credit.clear();
  }
}

// `replicated{publisher, up_to}` from the journal: to the connection logged on with that id, else
// the one that last published under it; only to a 1.2 client. Nobody: counted, and the publisher
// learns on its next logon (docs/protocol.md client sessions 9).
void on_replicated(caf::io::broker* self, const state_ptr& st, const std::string& publisher, std::uint64_t up_to) {
  std::optional<caf::io::connection_handle> to;
  if (auto c = st->claims.find(publisher); c != st->claims.end())
    to = c->second;
  else if (auto p = st->publishing.find(publisher); p != st->publishing.end())
    to = p->second;
  auto it = to ? st->sessions.find(*to) : st->sessions.end();
  if (it == st->sessions.end() || it->second.minor < 2 || up_to == 0) {
    ++st->replicated_notes_unrouted;
    return;
  }
  std::string buf;
  auto before = self->wr_buf(*to).size();
  write_message(self, st, *to, protocol::replicated{publisher, up_to}, buf);
  self->flush(*to);
  ++st->replicated_notes;
  settle_output(self, st, *to, before);
}

// The `waiting` notices (logic/ack_wait_notice.hpp): every 1.2 connection whose oldest unanswered
// publish is due is told which sync destinations hold acks back, from one waiting_on question.
void ask_why_acks_wait(caf::io::broker* self, const state_ptr& st, steady_ms now) {
  if (!st->ctx)
    return;
  struct due_conn {
    caf::io::connection_handle h;
    std::uint64_t epoch;
    std::uint64_t waited_ms;
  };
  std::vector<due_conn> due;
  for (auto& [h, s] : st->sessions) {
    if (!s.greeted || s.minor < 2)
      continue;
    std::optional<steady_ms> oldest;
    if (!s.acks.empty())
      oldest = s.acks.front().submitted;
    if (auto waited = s.wait_notice.due(now, oldest)) {
      s.wait_notice.sent(now); // also when nothing is named: the next question waits the interval
      due.push_back({h, s.epoch, static_cast<std::uint64_t>(waited->count())});
    }
  }
  if (due.empty())
    return;
  self->request(st->ctx->journal, caf::infinite, atoms::waiting_on::value)
    .then(
      [=](const std::vector<std::string>& names) {
        if (names.empty())
          return; // waiting for something else (the disk): nothing to name
        std::vector<std::string> list(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                                        names.size(), protocol::max_destination_names)));
        std::sort(list.begin(), list.end());
        list.erase(std::unique(list.begin(), list.end()), list.end());
        std::string buf;
        for (const auto& d : due) {
          auto it = st->sessions.find(d.h);
          if (it == st->sessions.end() || it->second.epoch != d.epoch || it->second.acks.empty())
            continue;
          auto before = self->wr_buf(d.h).size();
          write_message(self, st, d.h, protocol::waiting{d.waited_ms, list}, buf);
          self->flush(d.h);
          ++st->waiting_notices;
          settle_output(self, st, d.h, before);
        }
      },
      [=](caf::error&) {}); // the journal is stopping: the node is going down, nothing to tell
}

// How often the sweep runs: a quarter of the shorter timeout, within 50 ms .. 1 s; read at each
// sweep, since a live reload may change the timeouts (live_limits).
std::chrono::milliseconds sweep_interval(const replication_context& ctx) {
  return std::clamp(std::min(ctx.limits->frame_timeout(), ctx.limits->client_idle_timeout()) / 4,
                    std::chrono::milliseconds{50}, std::chrono::milliseconds{1000});
}

// The periodic check of every greeted connection's read-progress and idle deadlines.
void sweep(caf::io::broker* self, const state_ptr& st) {
  auto now = steady_now();
  std::vector<std::pair<caf::io::connection_handle, std::string>> expired;
  for (const auto& [h, s] : st->sessions) {
    if (!s.greeted)
      continue; // the handshake timeout applies
    bool busy = !s.subscriptions.empty() || s.outstanding > 0 || !s.acks.empty();
    if (auto why = s.deadlines.check(now, busy))
      expired.emplace_back(h, "client " + s.peer + " ('" + s.name + "'): " + *why);
  }
  for (const auto& [h, why] : expired)
    drop(self, st, h, protocol::close_code::idle_timeout, why);
  ask_why_acks_wait(self, st, now);
  if (st->ctx)
    arm_timer(st->ctx->timers, sweep_interval(*st->ctx), self->address(), caf::make_message(client_sweep::value));
}

// The listener's part of /status (and so /metrics).
std::string status_json(const clients_state& st0) {
  const auto* st = &st0;
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
                   {"persisted_from_commit", st->early_acks}, // answered by the committer's notice
                   {"already_held", st->already_held},
                   {"publisher_logons", st->logons},
                   {"publisher_logons_refused", st->logons_refused},
                   {"logged_on_publishers", st->claims.size()},
                   {"rejected", st->rejected},
                   {"rejected_by_reason", st->rejected_by_reason},
                   {"closed_by_reason", st->closed_by_reason},
                   {"subscription_gaps", st->subscription_gaps},
                   {"subscription_gap_records", st->subscription_gap_records},
                   {"persisted_partial", st->partial_acks},
                   {"persisted_partial_sent_plain", st->partial_acks_plain},
                   {"replicated_notes", st->replicated_notes},
                   {"replicated_notes_unrouted", st->replicated_notes_unrouted},
                   {"waiting_notices", st->waiting_notices}};
  // Admission control of the whole node (the budget is shared with the replication port).
  const auto& b = *st->ctx->budget;
  const auto& ra = *st->ctx->replication_admission;
  j["buffer_budget"] = {{"limit_bytes", b.limit()},
                        {"used_bytes", b.used()},
                        {"peak_bytes", b.peak()},
                        {"refusals", b.refusals()}};
  const auto& access = *st->ctx->access; // issue 18
  j["auth"] = {{"enabled", access.users() != nullptr},
               {"logins", st->logins},
               {"login_failures_by_reason", access.login_failures()},
               {"subscriptions_not_entitled", st->subscriptions_not_entitled},
               {"admin_unauthorized", access.admin_unauthorized()},
               {"admin_forbidden", access.admin_forbidden()},
               {"certificate_logins", st->certificate_logins}};
  j["tls"] = {{"enabled", st->ctx->client_tls},
              {"client_certificate_required", st->ctx->client_tls_require_cert},
              {"handshake_failures", st->tls_handshake_failures},
              {"wrong_protocol", st->wrong_protocol}};
  j["replication_admission"] = {{"evicted", ra.evicted.load()},
                                {"refused", ra.refused.load()},
                                {"oversized_before_hello", ra.oversized_before_hello.load()},
                                {"over_budget", ra.over_budget.load()}};
  return j.dump();
}

// The byte path failed (issue 18). The wrong protocol, told from the first bytes: answered with a
// plaintext close frame naming the port's protocol (a plaintext client reads it as the node's
// reason; a TLS client's session sees bytes that are not TLS and says "the server does not speak
// TLS"), so neither waits for a timeout. A failed handshake (a certificate from another CA,
// expired, none where one is required) or a later TLS error: the alert, if any, was written; closed.
void on_transport_failed(caf::io::broker* self, const state_ptr& st, caf::io::connection_handle h, session& s) {
  std::string reason;
  if (s.transport.wrong_protocol()) {
    ++st->wrong_protocol;
    reason = s.transport.tls() ? "this client port speaks TLS (client.tls): connect with TLS (tandem --tls-ca FILE)"
                               : "this client port does not speak TLS (client.tls is false): connect without TLS";
    log::warn(component, "closing client connection from ", s.peer, ": ",
              s.transport.tls() ? "plaintext client on a TLS client port" : "TLS client on a plaintext client port");
    std::string frame;
    protocol::encode(protocol::close_frame{protocol::close_code::bad_frame, reason}, frame);
    self->write(h, frame.size(), frame.data()); // not through the transport: the peer speaks the other protocol
  } else {
    ++st->tls_handshake_failures;
    log::warn(component, "closing client connection from ", s.peer, ": TLS: ", s.transport.error());
  }
  ++st->closed_by_reason["tls"];
  self->flush(h);
  self->close(h);
  end_session(self, st, h);
}

caf::behavior client_listener(instrumented<caf::io::broker>* self, int fd, std::shared_ptr<const replication_context> ctx,
                              std::uint32_t max_connections, std::size_t max_outstanding) {
  self->bind_probe("client-sessions");
  auto st = std::make_shared<clients_state>();
  st->ctx = std::move(ctx);
  st->max_connections = max_connections;
  st->max_outstanding = max_outstanding;
  self->add_doorman(fd);
  st->login_worker = spawn_login_worker(self->system()); // issue 18
  // One periodic check of every connection's read-progress and idle deadlines.
  arm_timer(st->ctx->timers, sweep_interval(*st->ctx), self->address(), caf::make_message(client_sweep::value));
  // `replicated` notes for the connections' publishers (protocol 1.2).
  caf::anon_send(st->ctx->journal, atoms::watch_replicated::value, caf::actor_cast<caf::actor>(self));
  // On the node's shutdown: stop every subscription and drop every actor handle, since a quit
  // broker can outlive its quit (pending timers hold it) and must not keep detached actors alive.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    std::vector<caf::io::connection_handle> open;
    for (const auto& [h, s] : st->sessions)
      open.push_back(h);
    for (auto h : open)
      end_session(self, st, h);
    self->send_exit(st->login_worker, caf::exit_reason::user_shutdown);
    st->login_worker = nullptr;
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
      auto [it, added] = st->sessions.try_emplace(msg.handle, *st->ctx, steady_now());
      it->second.epoch = ++st->next_epoch;
      it->second.peer = self->remote_addr(msg.handle) + ":" + std::to_string(self->remote_port(msg.handle));
      // The context in force now (a SIGHUP rotation swaps it for later connections; this one keeps it).
      if (auto tls_ctx = st->ctx->client_tls ? st->ctx->tls_context() : nullptr) { // bounded by the handshake timeout below
        it->second.transport = tls::link_transport{std::move(tls_ctx), tls::role::server,
                                                   {st->ctx->client_tls_require_cert, std::string{}}};
        // Each handler's output is already one write of whole TLS records; Nagle would hold the
        // next one for the client's delayed ACK (measured: ack p50 80 ms instead of 9 ms). The
        // handle's id is the socket (reset_socket's assumption).
        caf::io::network::tcp_nodelay(static_cast<caf::io::network::native_socket>(msg.handle.id()), true);
      }
      // Reads of at most 64 KiB: what a frame may hold before it needs the budget (admit_partial_frame).
      self->configure_read(msg.handle, caf::io::receive_policy::at_most(64 * 1024));
      self->ack_writes(msg.handle, true); // unsent output is accounted (data_transferred_msg)
      arm_timer(st->ctx->timers, st->ctx->limits->handshake_timeout(), self->address(),
                caf::make_message(atoms::conn_timeout::value, msg.handle, it->second.epoch));
    },
    [=](const caf::io::new_data_msg& msg) {
      auto it = st->sessions.find(msg.handle);
      if (it == st->sessions.end())
        return;
      const auto out_before = self->wr_buf(msg.handle).size();
      const auto frames_before = it->second.frames_in;
      auto& s = it->second;
      auto in = s.transport.receive({reinterpret_cast<const char*>(msg.buf.data()), msg.buf.size()});
      if (!in.to_write.empty()) { // the handshake's answers, a TLS alert
        self->write(msg.handle, in.to_write.size(), in.to_write.data());
        self->flush(msg.handle);
      }
      if (s.transport.failed()) {
        on_transport_failed(self, st, msg.handle, s);
        return;
      }
      if (s.transport.tls() && s.cert_user.empty() && !s.greeted && s.transport.peer())
        s.cert_user = tls::user_of(*s.transport.peer()).value_or("");
      if (in.plaintext.empty() && s.transport.tls()) { // handshake bytes only
        settle_output(self, st, msg.handle, out_before);
        return;
      }
      if (!it->second.reader.feed(in.plaintext)) {
        on_frames(self, st, msg.handle);
        if (st->sessions.count(msg.handle))
          drop(self, st, msg.handle, protocol::close_code::bad_frame,
               "bad frame: " + st->sessions.at(msg.handle).reader.error().message);
        return;
      }
      on_frames(self, st, msg.handle);
      if (settle_output(self, st, msg.handle, out_before))
        admit_partial_frame(self, st, msg.handle, frames_before);
    },
    [=](const caf::io::connection_closed_msg& msg) { end_session(self, st, msg.handle); },
    [=](atoms::deliver, caf::io::connection_handle h, std::uint64_t id, const frame_bytes& f) {
      on_deliver(self, st, h, id, f);
    },
    [=](const caf::io::data_transferred_msg& msg) { on_transferred(self, st, msg); },
    [=](client_sweep) { sweep(self, st); },
    [=](atoms::conn_timeout, caf::io::connection_handle h, std::uint64_t epoch) {
      auto it = st->sessions.find(h);
      if (it != st->sessions.end() && it->second.epoch == epoch && !it->second.greeted)
        drop(self, st, h, protocol::close_code::handshake_timeout, "no client_hello within the handshake timeout");
    },
    [=](login_failed, caf::io::connection_handle h, std::uint64_t epoch) {
      auto it = st->sessions.find(h);
      if (it != st->sessions.end() && it->second.epoch == epoch)
        drop(self, st, h, protocol::close_code::auth, "authentication failed");
    },
    [=](atoms::publish_durable, std::uint64_t id, const append_reply& rep) { // the committer answered first
      if (st->publish_waits.count(id))
        ++st->early_acks;
      answer_publish(self, st, id, rep);
    },
    [=](atoms::sub_gap, std::uint64_t ranges, std::uint64_t records) {
      st->subscription_gaps += ranges;
      st->subscription_gap_records += records;
    },
    [=](atoms::replicated, const std::string& publisher, std::uint64_t up_to) {
      on_replicated(self, st, publisher, up_to);
    },
    [=](atoms::status) -> std::string { return status_json(*st); },
    [=](const caf::io::acceptor_closed_msg&) { log::error(component, "client listener closed by the system"); },
  };
}

} // namespace

client_listener_actor spawn_client_listener(caf::actor_system& sys, int listen_fd,
                                            std::shared_ptr<const replication_context> ctx,
                                 std::uint32_t max_connections, std::size_t max_outstanding) {
  return caf::actor_cast<client_listener_actor>(
    sys.middleman().spawn_broker(client_listener, listen_fd, std::move(ctx), max_connections, max_outstanding));
}

} // namespace tandem
