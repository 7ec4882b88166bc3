#include "actors/replication_connection.hpp"

#include "actors/sync_answers.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_set>
#include <utility>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/atoms.hpp"
#include "actors/digest_scanner.hpp"
#include "actors/instrumented_actor.hpp"
#include "actors/log.hpp"
#include "actors/node_info.hpp"
#include "actors/timer_relay.hpp"
#include "actors/logic/connection_deadlines.hpp"
#include "actors/logic/inbound_dedup.hpp"
#include "actors/logic/memory_budget.hpp"
#include "actors/logic/replication_validation.hpp"
#include "actors/logic/anti_entropy_repair.hpp"
#include "actors/repair_scan.hpp"
#include "journal/hop_trace.hpp"
#include "protocol/batch.hpp"
#include "protocol/codec.hpp"
#include "protocol/compression.hpp"
#include "protocol/frame_reader.hpp"
#include "protocol/version.hpp"
#include "tls/link_transport.hpp"

namespace tandem {

namespace {

constexpr std::string_view component = "replication";

// validating: the peer's hello arrived (protocol >= 1.4), its validation frame has not.
enum class phase { handshake, validating, registering, established, closed };

struct conn_state {
  connection_args args;
  caf::io::connection_handle h;
  protocol::frame_reader reader;
  phase at = phase::handshake;
  std::string peer;       // instance name from the peer's hello
  std::uint64_t peer_base = 0; // the peer's journal base from its hello (0: not said)
  std::uint16_t peer_minor = 0; // the peer's protocol minor from its hello (1.5: digest frames)
  std::uint8_t peer_offer = 0;  // what the peer can decompress, from its hello (1.7, protocol/compression.hpp)
  std::string peer_group;
  std::string peer_instance_id; // from its hello (1.3), for the supervisor's identity rule
  destination_link_actor link; // our destination link for the peer, while the peer serves it
  destination_link_actor pending_link; // handed over (serve_link) while registering: attached once kept
  std::optional<std::uint64_t> last_peer_ack; // the peer's latest durable_ack (a resume point to hand on)
  // Batches acked on the committer's notice whose journal reply is still to come (at most the
  // batches in the journal at once; each id leaves with its reply).
  std::unordered_set<std::uint64_t> durable_early;
  // forward_ack: the destination whose acks go to the sync answers from here (empty: none, until the
  // link accepted the peer's resume point on this connection), the highest seq of a record batch
  // written here, and the highest ack handed on.
  std::string ack_route;
  std::uint64_t written_through = 0;
  std::uint64_t forwarded_ack = 0;
  std::optional<logic::inbound_dedup> dedup;
  std::uint64_t epoch = 0;                     // matches the armed conn_timeout
  logic::replication_deadlines deadlines;      // when to send a heartbeat or give up (conn_timeout)
  std::uint64_t records_in = 0, duplicates_in = 0;
  bool digest_pending = false; // the peer's digest_request being answered (at most one at a time)
  logic::scan_interest_ptr digest_interest; // its scan's: dropped when this connection ends
  bool repair_pending = false; // the peer's repair_batch being stored (at most one at a time, 1.6)
  // The frame being received, held against the node-wide budget (memory_budget.hpp); reset
  // (released) when the connection finishes.
  std::optional<logic::connection_buffers> buffers;
  // The byte path (issue 18): bytes as they are, or through a TLS session when args.tls is set.
  tls::link_transport transport;

  explicit conn_state(connection_args a)
    : args(std::move(a)), reader(args.ctx->max_frame_bytes),
      deadlines(timeouts_of(args), args.direction == conn_direction::outbound, steady_ms()),
      transport(transport_of(args)) {
    buffers.emplace(args.ctx->budget, args.ctx->limits->max_connection_buffer_bytes.load());
  }

  static tls::link_transport transport_of(const connection_args& a) {
    if (!a.tls)
      return {};
    const auto r = a.direction == conn_direction::outbound ? tls::role::client : tls::role::server;
    return {a.tls, r, {true, a.tls_server_name}};
  }

  static logic::replication_deadlines::duration steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch());
  }
  static logic::replication_timeouts timeouts_of(const connection_args& a) {
    return {a.connect_timeout, a.ctx->limits->handshake_timeout(), a.ctx->heartbeat_interval, a.ctx->silence_timeout};
  }

  // The peer's name from its hello; before it, the destination dialed (outbound) or "?".
  std::string who() const {
    const auto& name = peer.empty() ? args.expected_peer : peer;
    return (name.empty() ? std::string{"?"} : name) + " (" + args.remote_address + ", " + to_string(args.direction)
           + ")";
  }
};

using state_ptr = std::shared_ptr<conn_state>;

replication_connection_actor me(caf::io::broker* self) { return caf::actor_cast<replication_connection_actor>(self); }

supervisor_actor supervisor_of(const state_ptr& st) {
  return st->args.ctx->supervisor;
}

// Bytes as they go on the wire (ciphertext with TLS); nothing once the connection finished.
void write_raw(caf::io::broker* self, const state_ptr& st, const std::string& bytes) {
  if (!st->args.ctx || bytes.empty())
    return;
  self->write(st->h, bytes.size(), bytes.data());
  self->flush(st->h);
}

void write_message(caf::io::broker* self, const state_ptr& st, const protocol::message& m) {
  if (!st->args.ctx)
    return; // finished: the connection is closed
  std::string out;
  if (auto r = protocol::encode(m, out, st->args.ctx->max_frame_bytes); !r) {
    log::error(component, "cannot encode ", protocol::frame_type_name(protocol::type_of(m)), " for ", st->who(), ": ",
               r.error().message);
    return;
  }
  if (st->transport.tls())
    out = st->transport.send(out);
  write_raw(self, st, out);
}

// A frame our link asks us to send (anti-entropy): only on an established connection.
void write_established(caf::io::broker* self, const state_ptr& st, const protocol::message& m) {
  if (st->at == phase::established)
    write_message(self, st, m);
}

// A quit broker can outlive its quit: pending timers hold it, and its behavior and down handler
// hold this state. Drops every actor handle and the node context, so that this state cannot keep
// a link (whose state refers back to this connection), the listener or the node's context alive
// after the broker ended. Runs from finish() and, for a broker ended any other way (an exit at
// node shutdown), from the functor attached at spawn.
void release_handles(conn_state& st) {
  st.link = nullptr;
  st.pending_link = nullptr;
  st.args.listener = nullptr;
  st.buffers.reset(); // gives its bytes back to the node-wide budget (which it shares)
  st.dedup.reset();
  st.args.ctx.reset();
}

// How an ending is logged: a warning, an info line, or not here (whoever decided it logged it,
// rate-limited: identity conflicts).
enum class end_log { warn, info, quiet };

// Ends the connection once: tells whoever knew about it, then closes (gracefully: a close frame
// queued before still goes out) and quits.
void finish(caf::io::broker* self, const state_ptr& st, const std::string& reason, end_log how) {
  if (st->at == phase::closed)
    return;
  auto was = st->at;
  st->at = phase::closed;
  if ((was == phase::handshake || was == phase::validating) && st->args.direction == conn_direction::outbound
      && how != end_log::quiet)
    // A dial that never got the peer's hello: its cycler logs the failed attempt, with this reason
    // (the supervisor's dial_done), in one line.
    log::debug(component, "connection with ", st->who(), " closed: ", reason);
  else if (how == end_log::warn)
    log::warn(component, "closing connection with ", st->who(), ": ", reason);
  else if (how == end_log::info)
    log::info(component, "connection with ", st->who(), " closed: ", reason);
  if (st->link)
    self->send(st->link, atoms::link_detach::value, me(self));
  if (st->digest_interest)
    st->digest_interest->drop(); // nobody to answer: the scanner skips or ends that scan
  if (st->transport.tls() && st->args.ctx)
    st->args.ctx->tls_refusals->forget(st->args.remote_address);
  // The supervisor hears of every end of a connection that said hello, and of every outbound one:
  // that is its cycler's attempt ending, and the supervisor is the one who tells the cycler.
  const bool outbound = st->args.direction == conn_direction::outbound;
  if (was == phase::established || was == phase::registering || outbound)
    self->send(supervisor_of(st), atoms::conn_down::value, st->peer.empty() ? st->args.expected_peer : st->peer,
               me(self), st->args.direction, reason);
  self->close(st->h);
  self->quit();
  release_handles(*st);
}

void finish(caf::io::broker* self, const state_ptr& st, const std::string& reason, bool as_error) {
  finish(self, st, reason, as_error ? end_log::warn : end_log::info);
}

void refuse(caf::io::broker* self, const state_ptr& st, protocol::close_code code, const std::string& reason,
            end_log how = end_log::warn) {
  write_message(self, st, protocol::close_frame{code, reason});
  finish(self, st, reason, how);
}

// The peer refused us: another node with our name is connected there. Said at most once a
// minute (we retry at our backoff rate, and it refuses each time), counted always.
void refused_for_identity(caf::io::broker* self, const state_ptr& st, const std::string& reason) {
  if (auto covered = st->args.ctx->identity_refusals->refused(unix_ms_now()))
    log::error(component, "peer ", st->who(), " refused this node: identity conflict: ", reason, " (", *covered,
               " time(s) since the last line; said at most once a minute)");
  finish(self, st, "refused by the peer: identity conflict: " + reason, end_log::quiet);
}

// Arms the connection's one timer for what its deadlines say (a later arm replaces an earlier one).
void arm_conn_timer(caf::io::broker* self, const state_ptr& st, logic::replication_deadlines::duration at) {
  if (!st->args.ctx)
    return;
  const auto after = std::max(at - conn_state::steady_ms(), std::chrono::milliseconds{1});
  arm_timer(st->args.ctx->timers, after, self->address(), caf::make_message(atoms::conn_timeout::value, ++st->epoch));
}

// After a change of stage (start, hello, established): the timer for the stage's first deadline
// (a check right after a stage starts never closes or sends: its deadlines are all ahead).
void arm_next_deadline(caf::io::broker* self, const state_ptr& st) {
  arm_conn_timer(self, st, st->deadlines.check(conn_state::steady_ms()).next);
}

void send_acks(caf::io::broker* self, const state_ptr& st) {
  std::optional<std::uint64_t> last;
  while (auto a = st->dedup->ack_to_send())
    last = a;
  if (!last)
    return;
  write_message(self, st, protocol::durable_ack{*last});
  hop_trace::mark(hop_trace::point::ack_out, *last);
  self->send(st->args.ctx->journal, atoms::inbound_held::value, st->peer, *last);
}

void on_record_batch(caf::io::broker* self, const state_ptr& st, std::string_view frame) {
  hop_trace::mark(hop_trace::point::conn_in);
  auto batch = protocol::decode_batch(frame, st->args.ctx->max_frame_bytes);
  if (!batch) {
    refuse(self, st, protocol::close_code::bad_frame, "malformed record_batch: " + batch.error().message);
    return;
  }
  std::vector<logic::inbound_record> in;
  std::vector<journal::record> keep_candidates;
  in.reserve(batch.value().size());
  keep_candidates.reserve(batch.value().size());
  auto cur = batch.value().cursor();
  while (auto* r = cur.next()) {
    in.push_back({r->seq, {}, r->origin_seq});
    journal::record rec;
    rec.origin = std::string{r->origin_instance};
    rec.origin_seq = r->origin_seq;
    rec.publisher = std::string{r->publisher_id};
    rec.publisher_seq = r->publisher_seq;
    rec.timestamp_ns = r->timestamp_ns;
    for (auto p : r->path)
      rec.path.emplace_back(p);
    rec.topic = std::string{r->topic};
    rec.payload = std::string{r->payload};
    keep_candidates.push_back(std::move(rec));
  }
  for (std::size_t i = 0; i < in.size(); ++i)
    in[i].origin_instance = keep_candidates[i].origin; // views into strings that stay put
  auto verdicts = st->dedup->classify(in);
  st->records_in += in.size();
  st->duplicates_in += in.size() - verdicts.to_store;
  if (verdicts.to_store == 0) {
    send_acks(self, st);
    return;
  }
  auto store = std::make_shared<std::vector<journal::record>>();
  store->reserve(verdicts.to_store);
  for (std::size_t i = 0; i < keep_candidates.size(); ++i)
    if (verdicts.verdicts[i] == logic::verdict::store)
      store->push_back(std::move(keep_candidates[i]));
  auto id = verdicts.id;
  append_request req{store, st->peer, st->args.remote_address};
  req.durable_notice = id; // the committer tells us first (on_append_durable)
  self->request(st->args.ctx->journal, caf::infinite, atoms::append::value, std::move(req))
    .then(
      [=](const append_reply& rep) {
        if (st->at != phase::established)
          return;
        if (rep.ok && st->durable_early.erase(id) > 0)
          return; // acked already, from the committer's notice
        if (!rep.ok) {
          st->dedup->on_batch_failed(id);
          refuse(self, st, protocol::close_code::shutdown, "journal rejected replicated records: " + rep.error);
          return;
        }
        st->dedup->on_batch_durable(id);
        send_acks(self, st);
      },
      [=](caf::error& err) {
        if (st->at == phase::established) {
          st->dedup->on_batch_failed(id);
          finish(self, st, "journal did not answer: " + self->system().render(err), true);
        }
      });
}

// The committer's word that batch `id` is durable (append_request::durable_notice), ahead of the
// journal's reply (which then finds it in durable_early and does nothing more): the peer's ack
// goes out one hop sooner. It always comes before that reply: the committer sends it before it
// hands the commit to the journal actor, which replies only after.
void on_append_durable(caf::io::broker* self, const state_ptr& st, std::uint64_t id) {
  if (st->at != phase::established)
    return;
  st->durable_early.insert(id);
  st->dedup->on_batch_durable(id);
  send_acks(self, st);
}

void process_frames(caf::io::broker* self, const state_ptr& st);

// A compressed record batch (protocol 1.7, protocol/compression.hpp): its claimed size is checked
// before decompressing, the decompressor is bounded by it, and the restored plain frame then takes
// the plain batch's path with every check. Decompression runs on the node's one I/O thread, one
// frame at a time, so at most one restored frame (<= limits.max_frame_bytes) exists at a time.
// False when the connection was closed for it (close{bad_frame}, the reason logged).
bool on_compressed_batch(caf::io::broker* self, const state_ptr& st, std::string_view frame) {
  const auto max = st->args.ctx->max_frame_bytes;
  auto msg = protocol::decode(frame, max);
  if (!msg) {
    refuse(self, st, protocol::close_code::bad_frame, "malformed compressed_batch: " + msg.error().message);
    return false;
  }
  auto plain = protocol::decompress_batch(std::get<protocol::compressed_batch>(msg.value()),
                                          protocol::supported_decompression, max);
  if (!plain) {
    refuse(self, st, protocol::close_code::bad_frame, "bad compressed_batch: " + plain.error().message);
    return false;
  }
  on_record_batch(self, st, plain.value());
  return st->at != phase::closed;
}

bool is_batch(protocol::frame_type t) {
  return t == protocol::frame_type::record_batch || t == protocol::frame_type::compressed_batch;
}

// A record batch, plain or compressed. False when the connection was closed for it.
bool on_batch_frame(caf::io::broker* self, const state_ptr& st, protocol::frame_type t, std::string_view frame) {
  if (t == protocol::frame_type::compressed_batch)
    return on_compressed_batch(self, st, frame);
  on_record_batch(self, st, frame);
  return st->at != phase::closed;
}

// A batch over TLS: one encryption pass, the session copies into TLS records.
void write_batch_tls(caf::io::broker* self, const state_ptr& st, const logic::fanout_batch& b) {
  if (b.compressed) {
    write_raw(self, st, st->transport.send(*b.compressed));
    return;
  }
  // One send (SSL_write) per batch, not per piece: each send is at least one TLS record of its
  // own (header, AEAD pass on both sides) and a flush, and the batch header alone was one.
  std::string plain = b.header();
  std::size_t total = plain.size();
  for (const auto& p : b.pieces())
    total += p.bytes.size();
  plain.reserve(total);
  for (const auto& p : b.pieces())
    plain += p.bytes;
  write_raw(self, st, st->transport.send(plain));
}

// A plain batch: the shared pieces written as they are (the one copy per destination).
void write_batch_plain(caf::io::broker* self, const state_ptr& st, const logic::fanout_batch& b) {
  if (b.compressed) {
    self->write(st->h, b.compressed->size(), b.compressed->data());
  } else {
    const std::string head = b.header();
    self->write(st->h, head.size(), head.data());
    for (const auto& p : b.pieces())
      self->write(st->h, p.bytes.size(), p.bytes.data());
  }
  self->flush(st->h);
}

// A record batch from our link: compressed once for every link with its setting
// (logic::batch_compressor), or as shared pieces (logic/fanout_batch.hpp), where the write into
// the socket buffer is the one copy per destination.
void write_batch(caf::io::broker* self, const state_ptr& st, const logic::fanout_batch& b) {
  if (st->at != phase::established || b.empty())
    return;
  st->written_through = std::max(st->written_through, b.last_seq);
  if (st->transport.tls())
    write_batch_tls(self, st, b);
  else
    write_batch_plain(self, st, b);
  hop_trace::mark(hop_trace::point::conn_out, b.last_seq);
}

// The peer's durable_ack, handed to the node's sync answers by the connection itself (issue 19
// part 2: the publisher's persisted ack waits one hop less), besides going to the link as before.
// Only while the link has this connection in use and has accepted the peer's resume point on it
// (ack_route), and only an ack of at most the highest seq written here: any other claim goes to
// the link alone, which checks it against what it sent (logic/peer_claims.hpp) and closes the
// connection for one it cannot have. The journal hears of every ack from the link alone (its
// report, which may go further: its window's coverage of records this destination does not
// get). The connection once sent the journal its own copy as well; since the answers go out from
// here (sync_answers.hpp) that copy only woke the journal's thread a second time per ack, on this
// I/O thread right before the client's answer.
void forward_ack(const state_ptr& st, std::uint64_t seq) {
  if (st->ack_route.empty() || seq > st->written_through || seq <= st->forwarded_ack)
    return;
  st->forwarded_ack = seq;
  // A publish that waited only for this destination's ack is answered from here (sync_answers.hpp).
  if (st->args.ctx->runtime)
    st->args.ctx->runtime->answers().acked(st->ack_route, seq);
}

// This connection serves the peer's destination from now: the link attaches it and, when the
// peer's durable_ack came before (a connection handed the link at a failover), takes the latest
// one as the peer's resume point (logic/resume_decision.hpp: a server that holds less is re-sent
// the difference; a claim above our journal closes the connection).
void attach_link(caf::io::broker* self, const state_ptr& st, destination_link_actor link) {
  st->link = std::move(link);
  self->send(st->link, atoms::link_attach::value, me(self), std::string{st->args.remote_address}, st->args.direction,
             st->peer_base, st->peer);
  self->send(st->link, atoms::peer_minor::value, st->peer_minor);
  self->send(st->link, atoms::peer_codec::value, st->peer_minor, st->peer_offer);
  if (st->last_peer_ack)
    self->send(st->link, atoms::peer_ack::value, *st->last_peer_ack);
}

// The supervisor hands this connection its peer's link (serve_link): the instance that served the
// destination is gone. Before the connection is kept, on_kept attaches it; after it ended, the
// supervisor hears of the end (conn_down) and picks another instance.
void on_serve_link(caf::io::broker* self, const state_ptr& st, const caf::actor& link) {
  auto typed = caf::actor_cast<destination_link_actor>(link);
  if (st->at == phase::registering)
    st->pending_link = std::move(typed);
  else if (st->at == phase::established && st->link != typed)
    attach_link(self, st, std::move(typed));
}

// A dialed address may answer with any instance of the destination's group. Why not, or nullopt.
std::optional<std::string> unexpected_peer(const connection_args& a, const std::string& instance) {
  if (a.expected_peer.empty())
    return std::nullopt; // inbound: whoever it is, the supervisor decides
  const auto& ok = a.acceptable_peers;
  if (ok.empty() ? instance == a.expected_peer : std::find(ok.begin(), ok.end(), instance) != ok.end())
    return std::nullopt;
  std::string listed;
  for (const auto& i : ok)
    listed += (listed.empty() ? "" : ", ") + i;
  return "dialed destination " + a.expected_peer + (listed.empty() ? "" : " (instances " + listed + ")")
         + " but the peer is instance " + instance;
}

void on_kept(caf::io::broker* self, const state_ptr& st, std::uint64_t held_from_peer, destination_link_actor link) {
  st->at = phase::established;
  auto rt = st->args.ctx->runtime;
  st->dedup.emplace(st->args.ctx->name,
                    [rt](std::string_view origin) { return rt->log().highest_origin_seq(origin); }, held_from_peer);
  // Records of ours from before our journal base: a partner refilling what we lost.
  st->dedup->accept_earlier_own(rt->log().base_seq(), [rt] { return rt->log().highest_earlier_own_seq(); });
  log::info(component, "replicating with ", st->who(), ", group ", st->peer_group, "; holding its records up to ",
            held_from_peer);
  // Our resume point for the peer's link.
  write_message(self, st, protocol::durable_ack{held_from_peer});
  if (!link)
    link = std::exchange(st->pending_link, nullptr);
  if (link)
    attach_link(self, st, std::move(link));
  st->deadlines.on_established(conn_state::steady_ms());
  arm_next_deadline(self, st);
  process_frames(self, st);
}

void register_with_supervisor(caf::io::broker* self, const state_ptr& st);

// The latest validation with an instance of one of our destinations, for /status and /metrics
// (nullptr: the peer speaks protocol < 1.4, validation not performed).
void record_validation(const state_ptr& st, const logic::validation_result* r) {
  const auto* mine = logic::destination_for(st->args.ctx->destinations, st->peer);
  if (!mine)
    return;
  logic::validation_entry e{st->peer, r != nullptr, r ? r->verdict : logic::validation_verdict::ok,
                            r ? r->problems : std::vector<logic::validation_problem>{},
                            static_cast<std::uint64_t>(unix_ms_now()), {}};
  st->args.ctx->validations->record(mine->name, std::move(e));
}

// The peer refused us on its checks (close validation_failed): its reason names them and both
// values; kept for our /status too, where our own checks may have found nothing.
void note_peer_refusal(const state_ptr& st, const protocol::close_frame& c) {
  if (c.code != protocol::close_code::validation_failed || !st->args.ctx)
    return;
  if (const auto* mine = logic::destination_for(st->args.ctx->destinations, st->peer))
    st->args.ctx->validations->record(
      mine->name,
      {st->peer, true, logic::validation_verdict::refuse, {}, static_cast<std::uint64_t>(unix_ms_now()), c.reason});
}

// The peer's claims (validation frame, protocol 1.4) against our destination for it
// (logic/replication_validation.hpp): a broken contract refuses the connection (strict) or is
// logged once for this connection (warn); either way the log names each check and both values.
void on_validation(caf::io::broker* self, const state_ptr& st, const protocol::validation& v) {
  const auto* mine = logic::destination_for(st->args.ctx->destinations, st->peer);
  const auto r = logic::validate(mine, {v.has_destination, v.sync, v.topics, v.passthrough}, st->peer_group);
  record_validation(st, &r);
  const auto what = "replication validation failed: " + r.describe(st->args.ctx->name, st->peer);
  if (r.verdict == logic::validation_verdict::refuse) {
    const auto now = static_cast<std::uint64_t>(unix_ms_now());
    if (auto unsaid = st->args.ctx->validations->refusal_to_log(r.destination, now))
      log::error(component, "refusing ", st->who(), ": ", what, " (destination ", r.destination,
                 ", validation strict; ", *unsaid, " refusal(s) since the last line, said at most once a minute)");
    refuse(self, st, protocol::close_code::validation_failed, what, end_log::quiet);
    return;
  }
  if (r.verdict == logic::validation_verdict::warn)
    log::warn(component, "connection with ", st->who(), ": ", what, " (destination ", r.destination,
              ", validation warn: replicating anyway)");
  register_with_supervisor(self, st);
}

// TLS identity (issue 18): the peer's certificate must name the instance its hello names
// (tandem:instance/NAME); otherwise a valid certificate of one node could speak for another.
// Outbound, unexpected_peer() then checks that name is one the destination accepts. False when
// the connection was refused for it.
bool identity_matches(caf::io::broker* self, const state_ptr& st, const protocol::hello& h) {
  if (!st->transport.tls())
    return true;
  const auto cert = st->transport.peer();
  const auto named = cert ? tls::instance_of(*cert) : std::nullopt;
  if (named && *named == h.instance) {
    st->args.ctx->tls_refusals->set_version(st->args.remote_address, st->transport.version());
    return true;
  }
  ++st->args.ctx->tls_refusals->identity;
  const auto why = "certificate names " + (named ? *named : std::string{"no tandem:instance"}) + ", hello says " +
                   h.instance;
  log::error(component, "refusing ", st->who(), ": ", why);
  refuse(self, st, protocol::close_code::auth, why, end_log::quiet);
  return false;
}

void on_hello(caf::io::broker* self, const state_ptr& st, const protocol::hello& h) {
  auto v = protocol::check_version(h);
  if (!v.compatible) {
    log::error(component, "refusing ", st->who(), ": ", v.message);
    refuse(self, st, protocol::close_code::version_mismatch, v.message);
    return;
  }
  if (!identity_matches(self, st, h))
    return;
  if (h.instance.empty() || h.instance == st->args.ctx->name) {
    refuse(self, st, protocol::close_code::unknown_instance,
           "peer calls itself '" + h.instance + "', which is this node's own name or empty");
    return;
  }
  if (auto why = unexpected_peer(st->args, h.instance)) {
    refuse(self, st, protocol::close_code::unknown_instance, *why);
    return;
  }
  st->peer = h.instance;
  st->peer_group = h.group;
  st->peer_base = h.journal_base;
  st->peer_instance_id = h.instance_id;
  st->peer_minor = h.protocol_major == protocol::protocol_major ? h.protocol_minor : 0;
  st->peer_offer = h.decompress;
  st->deadlines.on_hello(conn_state::steady_ms());
  arm_next_deadline(self, st);
  if (h.protocol_minor >= protocol::validation_minor) {
    // Our claims for the peer to check; the peer's arrive in its validation frame (on_validation).
    const auto claim = logic::claim_of(logic::destination_for(st->args.ctx->destinations, st->peer));
    write_message(self, st, protocol::validation{claim.exists, claim.sync, claim.topics, claim.passthrough});
    st->at = phase::validating;
    return;
  }
  record_validation(st, nullptr);
  register_with_supervisor(self, st);
}

void register_with_supervisor(caf::io::broker* self, const state_ptr& st) {
  st->at = phase::registering;
  self->request(supervisor_of(st), caf::infinite, atoms::conn_hello::value, st->peer,
                st->peer_group, st->peer_instance_id, st->args.direction, me(self), st->args.remote_address)
    .then(
      [=](bool keep, destination_link_actor link, const std::string& identity_conflict, bool configured) {
        if (st->at != phase::registering)
          return;
        if (!identity_conflict.empty()) { // the supervisor logged it (at most once a minute)
          refuse(self, st, protocol::close_code::identity_conflict, identity_conflict, end_log::quiet);
          return;
        }
        if (!keep) {
          refuse(self, st, protocol::close_code::duplicate_connection,
                 "another connection with " + st->peer + " is kept", end_log::info);
          return;
        }
        // Its slot now belongs to a known peer: a destination's instance's is never evicted, whether
        // it serves the link now or stands by (issue 17 part 2).
        if (st->args.listener)
          self->send(st->args.listener, atoms::slot_identified::value, me(self), configured);
        self->request(st->args.ctx->journal, caf::infinite, atoms::inbound_pos::value, st->peer)
          .then([=](std::uint64_t held) { if (st->at == phase::registering) on_kept(self, st, held, link); },
                [=](caf::error& e) { finish(self, st, "journal did not answer: " + self->system().render(e), true); });
      },
      [=](caf::error& e) { finish(self, st, "supervisor did not answer: " + self->system().render(e), true); });
}

// The peer's digest_request (protocol 1.5, anti-entropy): answered through the node's digest
// scanner (a journal scan, off the scheduler). One at a time: a scan costs a journal read, so a
// second request before the answer is a peer asking for what the protocol does not give it.
// False when the connection was closed for it.
bool on_digest_request(caf::io::broker* self, const state_ptr& st, const protocol::digest_request& q) {
  if (st->digest_pending) {
    refuse(self, st, protocol::close_code::protocol_violation,
           "protocol violation: digest_request " + std::to_string(q.request_id) +
             " before the previous one was answered (one at a time)");
    return false;
  }
  const auto& scanner = st->args.ctx->digest_scanner;
  if (!scanner) {
    write_message(self, st, protocol::digest_reply{q.request_id, q.origin, q.from, q.to, q.buckets, 0, 0,
                                                   "this node has no digest scanner", {}});
    return true;
  }
  st->digest_pending = true;
  st->digest_interest = std::make_shared<logic::scan_interest>();
  // No timeout (it would arm a timer holding this broker): the scanner always answers.
  self->request(scanner, caf::infinite, atoms::digest::value, q, st->digest_interest)
    .then([=](const protocol::digest_reply& r) {
      st->digest_pending = false;
      if (st->at == phase::established)
        write_message(self, st, r);
    },
    [=](caf::error& e) {
      st->digest_pending = false;
      if (st->at == phase::established)
        write_message(self, st, protocol::digest_reply{q.request_id, q.origin, q.from, q.to, q.buckets, 0, 0,
                                                       "digest scanner failed: " + self->system().render(e), {}});
    });
  return true;
}

// The peer's repair_batch (protocol 1.6, anti-entropy repair; logic/anti_entropy_repair.hpp):
// every record passed the record_batch checks at decode; here the repair's own (no echo), then
// the digest scanner stores the ones this journal does not hold and the answer is a repair_ack.
// False when the connection was closed for it.
std::string check_repair(const state_ptr& st, const protocol::repair_batch& b) {
  if (st->repair_pending)
    return "repair_batch before the previous one was answered (one at a time)";
  for (std::size_t i = 0; i < b.records.size(); ++i) {
    const auto& r = b.records[i];
    const std::vector<std::string_view> path(r.path.begin(), r.path.end());
    if (auto why = logic::check_repair_record(st->args.ctx->name, r.origin_instance, path); !why.empty())
      return "repair_batch: record " + std::to_string(i) + " (origin_seq " + std::to_string(r.origin_seq) + "): " + why;
  }
  return {};
}

journal::record journal_record_of(protocol::record&& r) {
  journal::record rec;
  rec.origin = std::move(r.origin_instance);
  rec.origin_seq = r.origin_seq;
  rec.publisher = std::move(r.publisher_id);
  rec.publisher_seq = r.publisher_seq;
  rec.timestamp_ns = r.timestamp_ns;
  rec.path = std::move(r.path);
  rec.topic = std::move(r.topic);
  rec.payload = std::move(r.payload);
  return rec;
}

bool on_repair_batch(caf::io::broker* self, const state_ptr& st, protocol::repair_batch& b) {
  if (auto why = check_repair(st, b); !why.empty() || !st->args.ctx->digest_scanner) {
    refuse(self, st, protocol::close_code::protocol_violation,
           "protocol violation: " + (why.empty() ? std::string{"repair_batch but this node has no digest scanner"} : why));
    return false;
  }
  auto records = std::make_shared<std::vector<journal::record>>();
  for (auto& r : b.records)
    records->push_back(journal_record_of(std::move(r)));
  st->repair_pending = true;
  self->request(st->args.ctx->digest_scanner, caf::infinite, atoms::repair::value, repair_records{records},
                st->args.ctx->journal, st->peer, st->args.remote_address)
    .then(
      [=](const repair_result& r) {
        st->repair_pending = false;
        if (st->at != phase::established)
          return;
        if (!r.error.empty())
          refuse(self, st, r.peer_fault ? protocol::close_code::protocol_violation : protocol::close_code::shutdown,
                 (r.peer_fault ? "protocol violation: repair_batch: " : "repair_batch not stored: ") + r.error);
        else
          write_message(self, st, protocol::repair_ack{r.records, r.stored});
      },
      [=](caf::error& e) {
        st->repair_pending = false;
        if (st->at == phase::established)
          finish(self, st, "digest scanner did not store a repair: " + self->system().render(e), true);
      });
  return true;
}

// The anti-entropy frames (1.5 digests, 1.6 repairs): nullopt when `m` is none of them (or a
// reply with no link to take it); false when the connection was closed for it.
std::optional<bool> on_anti_entropy_frame(caf::io::broker* self, const state_ptr& st, protocol::message& m) {
  if (auto* q = std::get_if<protocol::digest_request>(&m))
    return on_digest_request(self, st, *q);
  if (auto* rb = std::get_if<protocol::repair_batch>(&m))
    return on_repair_batch(self, st, *rb);
  if (!st->link)
    return std::nullopt;
  if (auto* ra = std::get_if<protocol::repair_ack>(&m))
    self->send(st->link, atoms::repair_in::value, *ra); // the link checks it sent one (repair_sender)
  else if (auto* r = std::get_if<protocol::digest_reply>(&m))
    self->send(st->link, atoms::digest_in::value, std::move(*r)); // the link checks it asked (anti_entropy_exchange)
  else
    return std::nullopt;
  return true;
}

void process_frames(caf::io::broker* self, const state_ptr& st) {
  // While registering, frames wait in the reader (the peer sends little before our resume ack).
  while (st->at == phase::handshake || st->at == phase::validating || st->at == phase::established) {
    auto frame = st->reader.next();
    if (!frame)
      break;
    auto split = protocol::split_frame(*frame, st->args.ctx->max_frame_bytes);
    if (!split) {
      refuse(self, st, protocol::close_code::bad_frame, "bad frame: " + split.error().message);
      return;
    }
    auto* parts = &split.value();
    if (st->at == phase::established && is_batch(parts->type)) {
      if (!on_batch_frame(self, st, parts->type, *frame))
        return;
      continue;
    }
    auto msg = protocol::decode(*frame, st->args.ctx->max_frame_bytes);
    if (!msg) {
      refuse(self, st, protocol::close_code::bad_frame, "bad frame: " + msg.error().message);
      return;
    }
    auto& m = msg.value();
    if (st->at == phase::handshake || st->at == phase::validating) {
      if (auto* h = std::get_if<protocol::hello>(&m); h && st->at == phase::handshake) {
        on_hello(self, st, *h);
        continue;
      }
      if (auto* v = std::get_if<protocol::validation>(&m); v && st->at == phase::validating) {
        on_validation(self, st, *v);
        continue;
      }
      if (auto* c = std::get_if<protocol::close_frame>(&m)) {
        if (c->code == protocol::close_code::identity_conflict) {
          refused_for_identity(self, st, c->reason);
          return;
        }
        note_peer_refusal(st, *c);
        log::error(component, "peer ", st->who(), " refused the connection: ", c->reason);
        finish(self, st, "refused by the peer: " + c->reason, true);
        return;
      }
      refuse(self, st, protocol::close_code::bad_frame,
             std::string{st->at == phase::handshake ? "expected hello, got " : "expected validation, got "}
               + std::string{protocol::frame_type_name(parts->type)});
      return;
    }
    if (auto* a = std::get_if<protocol::durable_ack>(&m)) {
      hop_trace::mark(hop_trace::point::ack_in, a->durable_seq);
      forward_ack(st, a->durable_seq);
      st->last_peer_ack = a->durable_seq;
      if (st->link)
        self->send(st->link, atoms::peer_ack::value, a->durable_seq);
    } else if (std::get_if<protocol::heartbeat>(&m)) {
      // liveness only
    } else if (auto handled = on_anti_entropy_frame(self, st, m)) {
      if (!*handled)
        return;
    } else if (auto* c = std::get_if<protocol::close_frame>(&m)) {
      if (c->code == protocol::close_code::identity_conflict) {
        refused_for_identity(self, st, c->reason);
        return;
      }
      note_peer_refusal(st, *c);
      finish(self, st, "closed by the peer: " + c->reason,
             c->code != protocol::close_code::normal && c->code != protocol::close_code::shutdown
               && c->code != protocol::close_code::duplicate_connection);
      return;
    } else {
      refuse(self, st, protocol::close_code::bad_frame,
             std::string{"unexpected "} + std::string{protocol::frame_type_name(parts->type)} + " on a replication connection");
      return;
    }
  }
}

// The peer closed the connection while we were registering it, when its frames wait unread: if
// one of them is its close, act on that (its reason, and an identity conflict is counted) rather
// than on a bare "the peer closed the connection". False if there is none.
bool on_waiting_close(caf::io::broker* self, const state_ptr& st) {
  while (auto frame = st->reader.next()) {
    auto msg = protocol::decode(*frame, st->args.ctx->max_frame_bytes);
    const auto* c = msg ? std::get_if<protocol::close_frame>(&msg.value()) : nullptr;
    if (!c)
      continue;
    note_peer_refusal(st, *c);
    if (c->code == protocol::close_code::identity_conflict)
      refused_for_identity(self, st, c->reason);
    else
      finish(self, st, "closed by the peer: " + c->reason, true);
    return true;
  }
  return false;
}

// Before the peer's hello only a small frame is expected: a longer one closes the connection as
// soon as its header arrives. After it, the frame being received (header known) holds its length
// against the node-wide budget; while registering, the frames that wait in the reader count too.
constexpr std::size_t max_frame_before_hello = 64 * 1024;
// Between hello and validation (protocol 1.4) only a validation frame is expected: its fields'
// limits (protocol/limits.hpp) bound it to about 260 KiB.
constexpr std::size_t max_frame_before_validation = 512 * 1024;

void admit_partial_frame(caf::io::broker* self, const state_ptr& st) {
  if (st->at == phase::closed || !st->buffers)
    return;
  const auto buffered = st->reader.buffered();
  const std::size_t frame_len = buffered >= protocol::frame_header_bytes ? buffered + st->reader.wanted() : 0;
  auto& counters = *st->args.ctx->replication_admission;
  if (st->at == phase::handshake && frame_len > max_frame_before_hello) {
    ++counters.oversized_before_hello;
    refuse(self, st, protocol::close_code::resource_limit,
           "a frame of " + std::to_string(frame_len) + " bytes before hello (at most "
             + std::to_string(max_frame_before_hello) + " before the handshake)");
    return;
  }
  if (st->at == phase::validating && frame_len > max_frame_before_validation) {
    ++counters.oversized_before_hello;
    refuse(self, st, protocol::close_code::resource_limit,
           "a frame of " + std::to_string(frame_len) + " bytes before validation (at most "
             + std::to_string(max_frame_before_validation) + ")");
    return;
  }
  if (st->buffers->on_partial_frame(frame_len) != logic::connection_buffers::verdict::ok) {
    ++counters.over_budget;
    const auto& b = *st->args.ctx->budget;
    refuse(self, st, protocol::close_code::resource_limit,
           "node-wide buffer budget exhausted (limits.max_buffered_bytes_total " + std::to_string(b.limit()) + ", "
             + std::to_string(b.used()) + " in use): cannot take a frame of " + std::to_string(frame_len) + " bytes");
  }
}

// The byte path failed (issue 18): a TLS handshake that did not verify (another CA, expired),
// plaintext on a TLS link, a ClientHello on a plaintext port, or a TLS error later. No close frame
// can reach a peer that speaks the other protocol: the socket is closed (the alert, if any, was
// written first) with the reason logged, and counted when it happened before the hello.
void on_transport_failed(caf::io::broker* self, const state_ptr& st) {
  const auto& why = st->transport.error();
  if (st->at == phase::handshake)
    ++st->args.ctx->tls_refusals->handshake;
  log::warn(component, "closing connection with ", st->who(), ": ",
            st->transport.tls() ? "TLS: " + why : why);
  finish(self, st, (st->transport.tls() ? "TLS: " : "") + why, end_log::quiet);
}

// Bytes read from the socket: through the transport (TLS or as is), then the frame reader.
void on_bytes(caf::io::broker* self, const state_ptr& st, std::string_view bytes) {
  if (st->at == phase::closed)
    return;
  st->deadlines.on_received(conn_state::steady_ms());
  auto in = st->transport.receive(bytes);
  write_raw(self, st, in.to_write); // handshake messages, alerts
  if (st->transport.failed()) {
    on_transport_failed(self, st);
    return;
  }
  if (!st->reader.feed(in.plaintext)) {
    // Frames completed before the bad header are still processed first.
    process_frames(self, st);
    if (st->at != phase::closed)
      refuse(self, st, protocol::close_code::bad_frame, "bad frame: " + st->reader.error().message);
    return;
  }
  process_frames(self, st);
  admit_partial_frame(self, st);
}

// The connection's timer: carries out what its deadlines (logic/connection_deadlines.hpp) say --
// the connect or handshake deadline before the hello, registration after it, then heartbeats and
// the silence rule -- and re-arms for the next one.
void on_conn_timer(caf::io::broker* self, const state_ptr& st, std::uint64_t epoch) {
  if (epoch != st->epoch || st->at == phase::closed)
    return;
  auto d = st->deadlines.check(conn_state::steady_ms());
  if (d.what == logic::replication_deadlines::verdict::close) {
    // A dial that got no hello in time, or a connection silent past the silence timeout: the peer
    // does not answer, so it gets no graceful close. CAF 0.17 keeps a gracefully closed socket,
    // and its broker, until the bytes queued for it are out -- for a dial still connecting to a
    // black-holed address, until the kernel gives up the connect (about 2 minutes per attempt);
    // at node exit, LeakSanitizer saw such a broker unfreed. Shut down first (the socket is still
    // open here), the pending write fails at once and the middleman frees both. (An inbound
    // connection slow to say hello keeps the graceful close: its close frame says why.)
    if (st->at == phase::established || st->args.direction == conn_direction::outbound)
      ::shutdown(static_cast<int>(st->h.id()), SHUT_RDWR); // CAF's default multiplexer: the handle is the socket
    refuse(self, st,
           st->at == phase::established ? protocol::close_code::normal : protocol::close_code::handshake_timeout,
           d.reason);
    return;
  }
  if (d.what == logic::replication_deadlines::verdict::send_heartbeat) {
    auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
    write_message(self, st, protocol::heartbeat{static_cast<std::uint64_t>(now_ns)});
  }
  arm_conn_timer(self, st, d.next);
}

} // namespace

caf::behavior replication_connection(instrumented<caf::io::broker>* self, caf::io::connection_handle h,
                                     connection_args args) {
  self->bind_probe("replication-connections");
  auto st = std::make_shared<conn_state>(std::move(args));
  st->h = h;
  // However this broker ends (finish(), or an exit at node shutdown), its handles go with it.
  self->attach_functor([weak = std::weak_ptr<conn_state>{st}] {
    if (auto s = weak.lock())
      release_handles(*s);
  });
  self->configure_read(h, caf::io::receive_policy::at_most(64 * 1024));
  // Connections are not linked to anyone (a failing connection must not take the node down), so
  // they follow the supervisor's lifetime through a monitor: node shutdown closes them.
  self->monitor(st->args.ctx->supervisor);
  self->set_down_handler([=](caf::down_msg&) {
    write_message(self, st, protocol::close_frame{protocol::close_code::shutdown, "node shutting down"});
    finish(self, st, "node shutting down", false);
  });
  write_raw(self, st, st->transport.start()); // TLS client: the ClientHello (the hello waits for the handshake)
  write_message(self, st, protocol::hello{protocol::protocol_major, protocol::protocol_minor, st->args.ctx->name,
                                          st->args.ctx->group, 0, {},
                                          st->args.ctx->runtime->log().base_seq(), st->args.ctx->instance_id,
                                          protocol::supported_decompression});
  // Outbound: what is left of connect_timeout_ms bounds TCP connect + the peer's hello; inbound:
  // the handshake timeout (connection_deadlines.hpp).
  arm_next_deadline(self, st);
  return {
    [=](const caf::io::new_data_msg& msg) { on_bytes(self, st, {reinterpret_cast<const char*>(msg.buf.data()), msg.buf.size()}); },
    [=](const caf::io::connection_closed_msg&) {
      if ((st->at == phase::registering || st->at == phase::validating) && on_waiting_close(self, st))
        return;
      finish(self, st, st->at == phase::handshake && st->args.direction == conn_direction::outbound
                         ? "could not connect or the peer hung up before its hello"
                         : "the peer closed the connection",
             st->at == phase::handshake);
    },
    [=](atoms::conn_timeout, std::uint64_t epoch) { on_conn_timer(self, st, epoch); },
    [=](atoms::send_frame, const logic::fanout_batch& b) { write_batch(self, st, b); },
    [=](atoms::append_durable, std::uint64_t id) { on_append_durable(self, st, id); },
    [=](atoms::ack_route, const std::string& destination) { st->ack_route = destination; },
    [=](atoms::close_conn, const std::string& reason) {
      refuse(self, st, protocol::close_code::duplicate_connection, reason, end_log::info);
    },
    // Our link found the peer claiming what it cannot hold (logic/peer_claims.hpp).
    [=](atoms::violation, const std::string& reason) {
      if (st->at != phase::closed)
        refuse(self, st, protocol::close_code::protocol_violation, "protocol violation: " + reason);
    },
    // The replication listener takes the slot back (replication_listener.hpp).
    [=](atoms::slot_evict, const std::string& reason) { refuse(self, st, protocol::close_code::resource_limit, reason); },
    [=](atoms::serve_link, const caf::actor& link) { on_serve_link(self, st, link); },
    [=](atoms::digest_out, const protocol::digest_request& q) { write_established(self, st, q); },
    [=](atoms::repair_out, const protocol::repair_batch& b) { write_established(self, st, b); },
  };
}

replication_connection_actor spawn_outbound_connection(caf::actor_system& sys, int fd, connection_args args) {
  return caf::actor_cast<replication_connection_actor>(sys.middleman().spawn_broker(
    [](instrumented<caf::io::broker>* self, int sock, connection_args a) -> caf::behavior {
      auto h = self->add_scribe(sock);
      return replication_connection(self, h, std::move(a));
    },
    fd, std::move(args)));
}

} // namespace tandem
