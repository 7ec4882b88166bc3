#include "actors/destination_link.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <type_traits>

#include <time.h>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/typed_broker.hpp>
#include <nlohmann/json.hpp>

#include "actors/atoms.hpp"
#include "actors/instrumented_actor.hpp"
#include "actors/log.hpp"
#include "actors/digest_scanner.hpp"
#include "actors/logic/anti_entropy_exchange.hpp"
#include "actors/logic/anti_entropy_repair.hpp"
#include "actors/repair_scan.hpp"
#include "actors/logic/lag_tracker.hpp"
#include "actors/timer_relay.hpp"
#include "actors/logic/link_window.hpp"
#include "actors/logic/window_sizer.hpp"
#include "actors/logic/peer_claims.hpp"
#include "actors/logic/resume_decision.hpp"
#include "actors/logic/routing.hpp"
#include "actors/node_info.hpp"
#include "actors/replication_messages.hpp"
#include "journal/hop_trace.hpp"
#include "journal/reader.hpp"
#include "actors/logic/fanout_batch.hpp"
#include "protocol/batch.hpp"
#include "protocol/compression.hpp"
#include "protocol/codec.hpp"

namespace tandem {

namespace {

struct link_state {
  std::shared_ptr<const replication_context> ctx;
  bool on_io_thread = false; // where it runs (spawn_destination_link): /status "runs_on"
  config::destination_config dest;
  std::shared_ptr<instance_groups> groups;
  link_options options;
  std::optional<logic::destination_route> route;
  std::optional<logic::link_window> window;
  std::optional<logic::window_sizer> sizer; // the window's bound from ack turns (issue 20 part 2)
  std::optional<logic::lag_tracker> lag;
  replication_connection_actor conn;
  bool awaiting_resume = false;
  std::string peer_address;
  std::string serving_instance; // the instance of the destination's group whose connection is attached (last one)
  std::uint64_t instance_switches = 0; // attaches by another instance than the one before (failovers)
  std::map<std::string, std::uint64_t> instance_bases; // journal base each instance last said (at most 16)
  conn_direction direction = conn_direction::outbound;
  std::uint64_t durable_seq = 0;
  // journal.send_before_durable and a sync destination: reads up to journal::sendable_seq().
  bool early = false;
  std::uint64_t early_batches = 0; // tail-window reads that took a record not yet durable here (docs/metrics.md)
  std::shared_ptr<journal::cursor> cursor; // lent to a journal reader while reading_disk
  bool reading_disk = false;
  std::uint64_t disk_reads = 0, disk_bytes = 0; // reads behind the tail window
  std::uint64_t reported = 0; // last coverage sent to the journal actor
  std::uint64_t connects = 0, disconnects = 0;
  std::uint64_t trimmed_gaps = 0; // resumes that started below what retention kept
  std::uint64_t refill_logged_base = 0; // the destination base whose refill was logged (0: none)
  // Protocol violations by the destination (logic/peer_claims.hpp), by kind.
  std::uint64_t resume_above_journal = 0, ack_above_sent = 0;
  std::uint64_t trimmed_records = 0;                  // seqs those resumes skipped, in total
  std::uint64_t last_trimmed_first = 0, last_trimmed_last = 0; // the latest such range (0 0: none)
  std::array<std::uint64_t, logic::resume_reason_count> resumes{}; // decide_resume() answers, by reason
  std::int64_t last_connect_unix_ms = 0, last_disconnect_unix_ms = 0;
  std::string name;
  // Anti-entropy (issue 17, part 7): the background comparison with the peer; none when off.
  std::optional<logic::anti_entropy_exchange> ae;
  std::uint64_t ae_reported = 0; // comparisons whose findings were logged
  // Link compression (issue 20; configured in dest): what this connection uses (negotiated
  // in the hello, protocol/compression.hpp), and its figures (/status `compression`).
  logic::compression_setting in_use;
  std::string fallback_reason; // why this connection sends uncompressed although configured ("": it does not)
  std::uint64_t plain_bytes = 0, wire_bytes = 0; // of batches sent: plain frame sizes, bytes written
  std::uint64_t compressions = 0, shared_compressions = 0, incompressible = 0, compress_errors = 0;
  std::uint64_t uncached_compressions = 0; // compressed, but not kept for other links: the memory budget was full
  double compress_seconds = 0; // CPU time this link spent compressing
  // Anti-entropy repair (logic/anti_entropy_repair.hpp, protocol 1.6): none while anti-entropy is off.
  std::optional<logic::repair_sender> repair;
  std::uint16_t peer_minor = 0;    // of the attached connection
  std::uint64_t repair_epoch = 0;  // bumped at each disconnect: a read answered later is dropped
  std::uint64_t repairs_unsupported = 0; // ranges found while the peer speaks below 1.6 (not repaired)

  // The link ended (a reload removed or changed its destination, or the node stops): the scans
  // its comparison asked for are nobody's any more (logic/scan_interest.hpp).
  ~link_state() {
    if (ae)
      ae->on_disconnected();
  }
};

// Where a link runs (issue 19, runs_on_io_thread): a sync destination's link on the node's I/O
// thread, as a broker without connections of its own, so that a record written locally goes from
// the committer's wake-up straight to the replication connection (same thread: no second wake-up
// before the bytes leave); an async destination's link on the worker pool, where many links
// (fan-out) share both cores, and so is a sync one with compression (a partner across a WAN,
// where a wake-up is nothing against the round trip, while compressing a window's worth of
// batches after a reconnect would hold every connection of the node for its duration). The code
// is the same for both (every function below is a template on the actor type); which one a link
// runs as is decided when it is spawned (spawn_destination_link; a reload that changes the
// destination restarts its link).
template <class Handle>
struct broker_of;
template <class... Sigs>
struct broker_of<caf::typed_actor<Sigs...>> {
  using type = caf::io::typed_broker<Sigs...>;
};
using io_link_self = instrumented<caf::stateful_actor<link_state, broker_of<destination_link_actor>::type>>*;
using worker_link_self = instrumented<caf::stateful_actor<link_state, destination_link_actor::base>>*;

template <class Self>
void read_from_disk(Self self);

template <class Self>
void report(Self self, std::optional<std::uint64_t> acked) {
  auto& st = self->state;
  if (!acked || *acked <= st.reported)
    return;
  st.reported = *acked;
  st.lag->on_acked(*acked, logic::lag_tracker::clock::now());
  self->send(st.ctx->journal, atoms::dest_ack::value, st.dest.name, *acked);
}

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Compresses the batch when this connection negotiated compression: once for all links with the
// same setting (logic::batch_compressor). The window counts the plain frame's bytes either way.
void compress_batch(link_state& st, logic::fanout_batch& batch) {
  st.plain_bytes += batch.frame_bytes();
  if (st.in_use.algorithm == protocol::compression_algorithm::none) {
    st.wire_bytes += batch.frame_bytes();
    return;
  }
  const double cpu_before = thread_cpu_seconds();
  auto out = logic::batch_compressor::compress(batch, st.in_use, st.ctx->max_frame_bytes, st.ctx->budget);
  st.compress_seconds += thread_cpu_seconds() - cpu_before;
  (out.compressed_here ? st.compressions : st.shared_compressions) += 1;
  if (!out.error.empty() && ++st.compress_errors == 1)
    log::error(st.name, "compressing a batch for ", st.dest.name, " failed (sent uncompressed): ", out.error);
  if (!out.frame && out.error.empty())
    ++st.incompressible;
  if (out.compressed_here && !out.cached)
    ++st.uncached_compressions;
  batch.compressed = std::move(out.frame);
  st.wire_bytes += batch.compressed ? batch.compressed->size() : batch.frame_bytes();
}

std::int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
    .count();
}

// An ack's turn and delivery rate resize the window (logic/window_sizer.hpp).
void size_window(link_state& st, std::uint64_t acked_seq) {
  if (st.sizer->on_ack(acked_seq, steady_ns()))
    st.window->set_max_in_flight_bytes(st.sizer->window());
}

template <class Self>
void send_batch(Self self, logic::fanout_batch& batch, logic::sent_batch& sent) {
  auto& st = self->state;
  sent.bytes = batch.frame_bytes();
  compress_batch(st, batch);
  st.window->on_batch_sent(sent);
  st.sizer->on_sent(sent.last_sent_seq, sent.bytes, steady_ns());
  hop_trace::mark(hop_trace::point::link_sent, sent.last_sent_seq);
  batch.last_seq = sent.last_sent_seq;
  self->send(st.conn, atoms::send_frame::value, std::move(batch));
  batch = logic::fanout_batch{st.ctx->max_frame_bytes};
  sent = {};
}

// Refill (routing.hpp): logged once per destination base, at the first record actually sent back,
// so a start with nothing to refill says nothing about it.
void note_refill(link_state& st, std::uint64_t origin_seq, std::uint64_t seq) {
  if (st.refill_logged_base == st.route->destination_base())
    return;
  st.refill_logged_base = st.route->destination_base();
  log::info(st.name, st.dest.name, "'s journal starts at seq ", st.refill_logged_base,
            ": its own records below that are sent back to it, from origin_seq ", origin_seq, " (journal seq ", seq,
            ")");
}

// Sends the records of `slices` that routing admits, as one batch (more when the frame limit
// splits it). Each record's wire bytes are shared with every other link (fanout_batch.hpp).
template <class Self>
void send_slices(Self self, const std::vector<journal::chunk_slice>& slices) {
  auto& st = self->state;
  auto& w = *st.window;
  logic::fanout_batch batch{st.ctx->max_frame_bytes};
  logic::sent_batch sent;
  for (const auto& slice : slices) {
    auto wire = logic::wire_chunk::of(*slice.chunk, st.ctx->name, st.ctx->max_frame_bytes);
    for (std::uint32_t i = slice.first; i < slice.first + slice.count; ++i) {
      const auto& e = wire->records[i];
      const std::uint64_t seq = slice.chunk->first_seq + i;
      std::string upstream_group = e.path.empty() ? std::string{} : st.groups->group_of(e.path.back());
      logic::route_input in{e.origin, e.topic, e.path, upstream_group, e.origin_seq};
      if (!st.route->admits(in))
        continue;
      if (e.origin == st.dest.name && e.origin_seq < st.route->destination_base())
        note_refill(st, e.origin_seq, seq);
      if (e.length == 0) {
        // Not encodable in one frame (link_window.hpp, "Unsendable records"): the link stops
        // before it, so it is never counted as held by the destination and no sync persisted
        // ack is released for it. Send what came before it, then stop.
        if (!batch.empty()) {
          sent.coverage_after = seq - 1;
          send_batch(self, batch, sent);
        }
        const auto before = w.counters().unsendable;
        report(self, w.on_unsendable(seq));
        if (w.counters().unsendable != before)
          log::error(st.name, "record ", seq, " (topic '", e.topic.substr(0, 80), e.topic.size() > 80 ? "...'" : "'",
                     ", origin ", e.origin, ", ",
                     slice.chunk->record_bytes(i).size(), " bytes in the journal) cannot be sent to ", st.dest.name,
                     " with limits.max_frame_bytes ", st.ctx->max_frame_bytes, ": ", e.error, "; replication to ",
                     st.dest.name, " stops before it and its acknowledgement is withheld"
                     " (raise limits.max_frame_bytes on both nodes and restart)");
        return;
      }
      if (!batch.fits(*wire, i)) {
        sent.coverage_after = seq - 1;
        send_batch(self, batch, sent);
      }
      batch.add(wire, i);
      sent.last_sent_seq = seq;
      ++sent.records;
    }
  }
  if (slices.empty())
    return;
  const auto last_read = slices.back().last_seq();
  if (batch.empty()) {
    report(self, w.on_read(last_read));
    return;
  }
  sent.coverage_after = last_read;
  send_batch(self, batch, sent);
}

// The destination holds less than retention kept (another server of the destination that lagged,
// or one that lost its data): what retention removed cannot be sent. Say so once and go on from
// the oldest record held, rather than serve nothing.
template <class Self>
void note_below_retention(Self self, const logic::seq_range& gap) {
  auto& st = self->state;
  log::error(st.name, "destination ", st.dest.name, " resumes after seq ", gap.first - 1, " but records before ",
             gap.last + 1, " were removed by retention (acked by every destination still holding; see journal.held_back for a release): ", st.dest.name, " at ",
             st.peer_address, " will not receive ", gap.first, "..", gap.last);
  ++st.trimmed_gaps;
  st.trimmed_records += gap.size();
  st.last_trimmed_first = gap.first;
  st.last_trimmed_last = gap.last;
}

// The highest seq the link may read: durable records, or (early) written ones up to the journal's
// sendable seq, which the persisted seq reservation covers (journal/seq_reservation.hpp). Read
// from the journal itself, so that a failed fdatasync that took it back is seen at once.
std::uint64_t read_bound(const link_state& st) {
  return st.early ? std::max(st.durable_seq, st.ctx->runtime->log().sendable_seq()) : st.durable_seq;
}

bool can_pump(const link_state& st) {
  return st.conn && !st.awaiting_resume && !st.reading_disk && st.window->can_send()
         && st.window->next_read() <= read_bound(st);
}

// Reads and sends while the window allows and durable records wait. Each loop turn is one
// journal read of at most max_batch_records / max_batch_bytes: from the tail window here (no
// I/O), or, behind the window, by a journal reader (journal_reader.hpp), continuing on its reply.
template <class Self>
void pump(Self self) {
  auto& st = self->state;
  auto& w = *st.window;
  while (can_pump(st)) {
    // Seqs skipped after a host crash (journal/seq_reservation.hpp) never held a record here:
    // nothing to send, so the destination has them (no lag, no stall).
    if (const auto past = st.ctx->runtime->log().past_skipped(w.next_read()); past != w.next_read()) {
      report(self, w.on_read(past - 1));
      continue;
    }
    if (!st.cursor || st.cursor->next_seq() != w.next_read()) {
      auto c = st.ctx->runtime->log().open_cursor(w.next_read());
      if (!c && c.error().code() == journal::errc::trimmed) {
        // Retention removed records under a read already under way (the resume decision saw
        // them still held): skip them as decide_resume() would have (resume_decision.hpp).
        const auto gap = logic::retention_gap(w.next_read(), st.ctx->runtime->log().first_seq());
        note_below_retention(self, gap);
        report(self, w.on_read(gap.last));
        continue;
      }
      if (!c) {
        log::error(st.name, "cannot read the journal from ", w.next_read(), ": ", c.error().to_string(),
                   "; destination ", st.dest.name, " cannot be served");
        st.cursor.reset();
        return;
      }
      st.cursor = std::make_shared<journal::cursor>(std::move(*c));
    }
    auto slices = st.early ? st.cursor->read_window_slices_up_to(st.options.max_batch_records,
                                                                  st.options.max_batch_bytes, read_bound(st))
                           : st.cursor->read_window_slices(st.options.max_batch_records, st.options.max_batch_bytes);
    if (slices && !slices->empty() && slices->back().last_seq() > st.ctx->runtime->log().durable_seq())
      ++st.early_batches;
    if (!slices) {
      read_from_disk(self);
      return;
    }
    if (slices->empty())
      return;
    send_slices(self, *slices);
  }
}

template <class Self>
void read_from_disk(Self self) {
  auto& st = self->state;
  st.reading_disk = true;
  ++st.disk_reads;
  const std::uint64_t from = st.cursor->next_seq();
  const auto& readers = st.ctx->journal_readers;
  auto reader = readers[std::hash<std::string>{}(st.dest.name) % readers.size()];
  self->request(reader, caf::infinite, atoms::read_disk::value, st.cursor,
                static_cast<std::uint64_t>(st.options.max_batch_records),
                static_cast<std::uint64_t>(st.options.max_batch_bytes))
    .then(
      [=](disk_read_reply& reply) {
        auto& s = self->state;
        s.reading_disk = false;
        if (!reply.error.empty()) {
          // trimmed: retention removed the segment under the read; the next pump reopens the
          // cursor and says what was skipped. Anything else: logged, reopened on the next event.
          s.cursor.reset();
          if (!reply.trimmed) {
            log::error(s.name, "journal read for ", s.dest.name, " from seq ", from, " failed: ", reply.error);
            return;
          }
        } else {
          for (const auto& slice : reply.slices)
            s.disk_bytes += slice.chunk->bytes.size();
          // Still wanted? A reconnect meanwhile moved the read position.
          if (s.conn && !s.awaiting_resume && !reply.slices.empty() && reply.slices.front().first_seq() == from
              && s.window->next_read() == from)
            send_slices(self, reply.slices);
        }
        pump(self);
      },
      [=](caf::error& err) {
        auto& s = self->state;
        s.reading_disk = false;
        s.cursor.reset();
        log::error(s.name, "journal reader unavailable for ", s.dest.name, ": ", self->system().render(err));
      });
}

// A repair in progress ends with the connection (anti_entropy_repair.hpp: found again later).
void stop_repair(link_state& st) {
  if (!st.repair)
    return;
  st.repair->on_disconnected();
  ++st.repair_epoch;
}

// The connection ended: a running comparison and any repair with it.
void stop_anti_entropy(link_state& st) {
  if (st.ae)
    st.ae->on_disconnected();
  stop_repair(st);
}

// The destination claimed to hold what it cannot have (logic/peer_claims.hpp): believe nothing of
// it, close the connection with close{protocol_violation}, and go on as if it had dropped (the
// connection's detach, arriving later, is then ignored). Nothing is released on the claim.
template <class Self>
void on_violation(Self self, const logic::claim_violation& v) {
  auto& st = self->state;
  (v.kind == logic::claim_kind::resume_above_journal ? st.resume_above_journal : st.ack_above_sent) += 1;
  log::error(st.name, "protocol violation by ", st.dest.name, " at ", st.peer_address, " (", to_string(st.direction),
             ", ", logic::to_string(v.kind), "): ", v.describe(), "; closing the connection, nothing acknowledged");
  self->send(st.conn, atoms::violation::value, v.describe());
  st.conn = nullptr;
  st.awaiting_resume = false;
  st.window->on_disconnected();
  st.sizer->on_disconnected();
  stop_anti_entropy(st);
  ++st.disconnects;
  st.last_disconnect_unix_ms = unix_ms_now();
  self->send(st.ctx->journal, atoms::dest_conn::value, st.dest.name, false);
}

// The destination's first durable_ack on the connection: its resume point. Where to resume is
// logic/resume_decision.hpp's one decision; the link logs and counts the reason and applies it.
template <class Self>
void on_resume_point(Self self, std::uint64_t peer_holds) {
  auto& st = self->state;
  auto& log_ = st.ctx->runtime->log();
  logic::resume_input in;
  in.peer_holds = peer_holds;
  in.durable_seq = log_.durable_seq();
  in.sent_bound = log_.sendable_seq(); // = durable_seq() unless seq reservation is on (issue 19)
  in.base_seq = log_.base_seq();
  in.first_held = log_.first_seq();
  in.covered = st.window->coverage();
  const auto d = logic::decide_resume(in);
  ++st.resumes[static_cast<std::size_t>(d.reason)];
  if (d.violation) {
    on_violation(self, *d.violation);
    return;
  }
  st.awaiting_resume = false;
  ++st.connects;
  st.last_connect_unix_ms = unix_ms_now();
  self->send(st.ctx->journal, atoms::dest_conn::value, st.dest.name, true); // the downgrade rules' one source
  if (!d.skipped.empty())
    note_below_retention(self, d.skipped);
  st.sizer->on_disconnected(); // what was in flight before the resume gives no samples
  report(self, st.window->on_connected(d));
  // From now on the connection hands the peer's acks to the sync answers itself, one hop sooner
  // (those at most what it wrote); this link still checks each and is the journal's one source.
  self->send(st.conn, atoms::ack_route::value, st.dest.name);
  log::info(st.name, "replicating to ", st.dest.name, " at ", st.peer_address, " (", to_string(st.direction),
            "), resuming after seq ", d.resume_after, " of ", st.durable_seq, " (", logic::to_string(d.reason),
            "; it holds ", d.peer_position, ")");
}

// Which instance of the destination's group the attaching connection is, and its journal base
// (issue 17 part 2). Another instance than before is a failover: the resume that follows takes
// what THIS instance durably holds (its first durable_ack; peer_holds_less when it holds less),
// and refill (routing.hpp) applies to its own earlier records. A new incarnation is a change of
// the base one instance said before, never the difference between two instances' bases.
template <class Self>
void on_instance(Self self, const std::string& instance, std::uint64_t base) {
  auto& st = self->state;
  auto& known = st.instance_bases[instance]; // 0: not seen since the link started
  if (known != 0 && known != base)
    // A new incarnation of an instance we knew: its earlier records, filtered while it was the
    // old one, are routed to it now (refill), so what we covered by filtering them counts no more.
    st.window->forget_filtered();
  known = base;
  st.route->set_serving_instance(instance);
  st.route->set_destination_base(base);
  if (instance == st.serving_instance)
    return;
  if (!st.serving_instance.empty()) {
    ++st.instance_switches;
    log::info(st.name, "destination ", st.dest.name, ": instance ", instance, " serves it now (was ",
              st.serving_instance, "); resuming from what ", instance, " holds");
  }
  st.serving_instance = instance;
}

// ---- anti-entropy (issue 17, part 7): this link compares the records of this node's own origin
// that the peer acknowledged (own records go to every destination without a topic filter), by
// digests from the peer (digest_request frames) and from this node's digest scanner. ----

constexpr std::chrono::milliseconds ae_tick_period{1000};

template <class Self>
void arm_ae_tick(Self self) {
  arm_timer(self->state.ctx->timers, ae_tick_period, self->address(), caf::make_message(atoms::ae_tick::value));
}

// What to compare now: own origin_seqs from the oldest held up to what the peer acknowledged.
std::vector<logic::anti_entropy_origin> ae_origins(const link_state& st) {
  const auto& log = st.ctx->runtime->log();
  const std::uint64_t from = std::max<std::uint64_t>(log.first_seq(), 1);
  // Own records' origin_seq is their seq: with journal.send_before_durable the peer may ack
  // records not yet durable here, which the scanner (durable records only) would call missing.
  const std::uint64_t to =
    std::min({st.window->acked(), log.highest_origin_seq(st.ctx->name), log.durable_seq()});
  if (st.dest.topics != ".*" || to < from)
    return {};
  return {{st.ctx->name, from, to}};
}

template <class Self>
void pump_repair(Self self);

// The ranges a finished comparison found the peer lacking go to the repair queue (a peer below
// protocol 1.6 cannot take them: counted, and /status says repair "unsupported").
template <class Self>
void queue_repairs(Self self) {
  auto& st = self->state;
  auto found = st.ae->session().take_repairs();
  if (st.peer_minor < protocol::repair_minor) {
    st.repairs_unsupported += found.size();
    return;
  }
  st.repair->add(found);
  pump_repair(self);
}

// Logs a finished comparison's findings once: a divergence with its first differing range.
template <class Self>
void log_ae_findings(Self self) {
  auto& st = self->state;
  const auto& f = st.ae->session().figures();
  if (f.comparisons == st.ae_reported)
    return;
  st.ae_reported = f.comparisons;
  queue_repairs(self);
  if (f.divergent_records == 0 || !f.first_range)
    return;
  log::warn(st.name, "anti-entropy: ", st.dest.name, " and this node diverge: at least ", f.divergent_records,
            " record(s) differ; first range: origin ", f.first_origin, " origin_seq ", f.first_range->first, "..",
            f.first_range->last, " (", anti_entropy::to_string(f.first_range->kind), ", held here ",
            f.first_range->left_count, ", there ", f.first_range->right_count, ")");
}

template <class Self>
void on_ae_outcome(Self self, logic::anti_entropy_exchange::outcome o);

// Each request goes to the peer and to this node's scanner; the replies meet in the exchange.
template <class Self>
void send_digests(Self self, const std::vector<protocol::digest_request>& frames) {
  auto& st = self->state;
  for (const auto& f : frames) {
    self->send(st.conn, atoms::digest_out::value, f);
    auto local = [=](protocol::digest_reply r) {
      if (self->state.ae)
        on_ae_outcome(self, self->state.ae->on_local(r));
    };
    self->request(st.ctx->digest_scanner, caf::infinite, atoms::digest::value, f, st.ae->interest())
      .then(local, [=](caf::error& e) {
        local({f.request_id, f.origin, f.from, f.to, f.buckets, 0, 0, "scanner: " + self->system().render(e), {}});
      });
  }
}

template <class Self>
void on_ae_outcome(Self self, logic::anti_entropy_exchange::outcome o) {
  auto& st = self->state;
  if (!o.violation.empty() && st.conn) {
    log::error(st.name, "protocol violation by ", st.dest.name, " at ", st.peer_address, ": ", o.violation,
               "; closing the connection");
    self->send(st.conn, atoms::violation::value, o.violation);
    return;
  }
  if (st.conn)
    send_digests(self, o.next);
  log_ae_findings(self);
}

template <class Self>
void on_ae_tick(Self self) {
  auto& st = self->state;
  arm_ae_tick(self);
  if (!st.conn || st.awaiting_resume || !st.ctx->digest_scanner)
    return;
  send_digests(self, st.ae->issue(st.ae->session().due(static_cast<std::uint64_t>(unix_ms_now()), ae_origins(st))));
  log_ae_findings(self); // nothing to compare finishes at once
}

// ---- anti-entropy repair (logic/anti_entropy_repair.hpp): one range read at a time by the
// digest scanner (off the scheduler), sent as one repair_batch, the next read after its
// repair_ack. Outside the window: acked, resume and sync-ack positions do not move. ----

// At most max_frame_bytes / 2 of journal bytes per repair_batch (the wire form adds this node to
// each path), and no more than 1 MiB: the repair's in-flight bound.
std::size_t repair_batch_bytes(const link_state& st) {
  return std::min<std::size_t>(st.ctx->max_frame_bytes / 2, 1u << 20);
}

template <class Self>
void on_repair_chunk(Self self, std::uint64_t epoch, repair_chunk& chunk) {
  auto& st = self->state;
  if (epoch != st.repair_epoch || !st.conn)
    return;
  protocol::repair_batch batch{std::move(chunk.records)};
  std::string probe; // a batch the connection could not encode would never be answered
  if (chunk.error.empty() && !batch.records.empty())
    if (auto enc = protocol::encode(batch, probe, st.ctx->max_frame_bytes); !enc)
      chunk.error = "repair_batch of " + std::to_string(batch.records.size()) + " records cannot be sent: " +
                    enc.error().message;
  if (!chunk.error.empty()) {
    log::error(st.name, "anti-entropy repair for ", st.dest.name, ": ", chunk.error, "; the range is dropped");
    st.repair->on_read_failed();
  } else if (st.repair->on_read(chunk.through, batch.records.size())) {
    self->send(st.conn, atoms::repair_out::value, std::move(batch));
    return;
  }
  pump_repair(self);
}

template <class Self>
void pump_repair(Self self) {
  auto& st = self->state;
  if (!st.repair || !st.conn || st.awaiting_resume || !st.ctx->digest_scanner)
    return;
  auto r = st.repair->next();
  if (!r)
    return;
  const auto epoch = st.repair_epoch;
  self->request(st.ctx->digest_scanner, caf::infinite, atoms::repair_read::value, r->origin, r->first, r->last,
                static_cast<std::uint64_t>(r->max_bytes))
    .then([=](repair_chunk& c) { on_repair_chunk(self, epoch, c); },
          [=](caf::error& e) {
            repair_chunk c;
            c.error = "scanner: " + self->system().render(e);
            on_repair_chunk(self, epoch, c);
          });
}

template <class Self>
bool from_conn(Self self);

// The peer's repair_ack, on the connection in use (a replaced one's is ignored).
template <class Self>
void on_repair_ack(Self self, const protocol::repair_ack& a) {
  auto& st = self->state;
  if (!from_conn(self))
    return;
  if (!st.repair) {
    on_ae_outcome(self, {{}, "repair_ack while anti-entropy is off here"});
    return;
  }
  if (auto why = st.repair->on_ack(a.records, a.stored); !why.empty()) {
    on_ae_outcome(self, {{}, why});
    return;
  }
  // A range the peer stored none of is held there (under another origin, by publisher): the
  // session counts it as held elsewhere instead of divergent (anti_entropy_session.hpp).
  if (auto answered = st.repair->take_answered(); answered && st.ae)
    st.ae->session().on_repaired(answered->covered.origin, answered->covered.first, answered->covered.last,
                                 answered->stored);
  pump_repair(self);
}

template <class Self>
bool from_conn(Self self) {
  return self->state.conn && self->current_sender() == caf::actor_cast<caf::strong_actor_ptr>(self->state.conn);
}

// Right after link_attach: a comparison running with a replaced connection is dropped first.
template <class Self>
void on_peer_minor(Self self, std::uint16_t minor) {
  if (!self->state.ae || !from_conn(self))
    return;
  self->state.ae->on_disconnected();
  stop_repair(self->state);
  self->state.peer_minor = minor;
  self->state.ae->session().on_connected(minor, static_cast<std::uint64_t>(unix_ms_now()));
}

template <class Self>
void on_digest_in(Self self, const protocol::digest_reply& r) {
  if (!from_conn(self))
    return;
  if (!self->state.ae)
    on_ae_outcome(self, {{}, "digest_reply " + std::to_string(r.request_id) + " while anti-entropy is off here"});
  else
    on_ae_outcome(self, self->state.ae->on_peer(r));
}

template <class Self>
void start_anti_entropy(Self self) {
  auto& st = self->state;
  if (st.ctx->anti_entropy_interval.count() == 0)
    return;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(st.ctx->anti_entropy_interval).count();
  st.ae.emplace(logic::anti_entropy_settings{static_cast<std::uint64_t>(ms)});
  st.repair.emplace(repair_batch_bytes(st));
  arm_ae_tick(self);
}

logic::compression_setting configured_compression(const config::destination_config& d) {
  return {protocol::compression_from_string(d.compression).value_or(protocol::compression_algorithm::none),
          static_cast<int>(d.compression_level)};
}

// The peer's hello said what it can decompress (sent right after link_attach, so before the
// resume point that starts the sending): this connection compresses with the configured
// algorithm if offered, otherwise sends uncompressed and says why, once per connection.
template <class Self>
void on_peer_codec(Self self, std::uint16_t minor, std::uint8_t offer) {
  auto& st = self->state;
  if (!from_conn(self))
    return;
  const auto configured = configured_compression(st.dest);
  auto choice = protocol::negotiate_compression(configured.algorithm, minor, offer);
  st.in_use = {choice.used, choice.used == protocol::compression_algorithm::none ? 0 : configured.level};
  st.fallback_reason = choice.fallback_reason;
  if (!choice.fallback_reason.empty())
    log::warn(st.name, "destination ", st.dest.name, " at ", st.peer_address, ": compression ",
              protocol::to_string(configured.algorithm), " configured, sending uncompressed on this connection: ",
              choice.fallback_reason);
}

nlohmann::ordered_json compression_status(const link_state& st) {
  nlohmann::ordered_json j;
  j["configured"] = st.dest.compression;
  j["level"] = st.dest.compression_level;
  j["in_use"] = st.conn ? protocol::to_string(st.in_use.algorithm) : "";
  j["fallback_reason"] = st.conn ? st.fallback_reason : "";
  j["bytes_before"] = st.plain_bytes;
  j["bytes_after"] = st.wire_bytes;
  j["ratio"] = st.wire_bytes == 0 ? 1.0 : static_cast<double>(st.plain_bytes) / static_cast<double>(st.wire_bytes);
  j["compress_seconds"] = st.compress_seconds;
  j["compressions"] = st.compressions;
  j["shared_compressions"] = st.shared_compressions;
  j["uncached_compressions"] = st.uncached_compressions;
  j["incompressible_batches"] = st.incompressible;
  j["errors"] = st.compress_errors;
  return j;
}

nlohmann::ordered_json ae_status(const link_state& st) {
  nlohmann::ordered_json j;
  logic::anti_entropy_figures off;
  off.state = logic::anti_entropy_state::off;
  const auto& f = st.ae ? st.ae->session().figures() : off;
  j["state"] = logic::to_string(f.state);
  j["last_run_ms"] = f.last_run_ms;
  j["divergent_records"] = f.divergent_records;
  j["held_elsewhere_records"] = f.held_elsewhere_records;
  j["first_range"] = nullptr;
  if (f.first_range)
    j["first_range"] = {{"origin", f.first_origin}, {"first", f.first_range->first}, {"last", f.first_range->last},
                        {"kind", anti_entropy::to_string(f.first_range->kind)}};
  j["comparisons"] = f.comparisons;
  // Repair (protocol 1.6): "unsupported" while the peer speaks below 1.6 (nothing re-sent).
  const auto r = st.repair ? st.repair->figures() : logic::repair_figures{};
  j["repair"] = {{"state", !st.repair                                 ? "off"
                           : st.conn && st.peer_minor < protocol::repair_minor ? "unsupported"
                           : st.repair->busy()                          ? "repairing"
                                                                        : "idle"},
                 {"records_sent", r.records_sent},
                 {"records_stored_by_peer", r.records_stored},
                 {"batches_sent", r.batches_sent},
                 {"ranges_queued", r.queued},
                 {"ranges_dropped", r.ranges_dropped},
                 {"ranges_unsupported", st.repairs_unsupported}};
  return j;
}

// The in-flight bound and what sized it (logic/window_sizer.hpp); rtt_ms is the smoothed ack
// turn: send to durable_ack, the peer's journal write and fdatasync included.
nlohmann::ordered_json window_status(const logic::window_sizer& z) {
  const auto f = z.figures();
  nlohmann::ordered_json j;
  j["bytes"] = f.window;
  j["floor_bytes"] = z.settings().floor;
  j["ceiling_bytes"] = z.settings().ceiling;
  j["budget_bytes"] = f.granted;
  j["rtt_ms"] = static_cast<double>(f.srtt_ns) / 1e6;
  j["min_rtt_ms"] = static_cast<double>(f.min_turn_ns) / 1e6;
  j["delivery_bytes_per_s"] = f.rate_bytes_per_s;
  j["samples"] = f.samples;
  j["ignored_samples"] = f.ignored_samples;
  j["budget_refusals"] = f.budget_refusals;
  return j;
}

std::string status_json(link_state& st) {
  const auto& w = *st.window;
  const auto& c = w.counters();
  nlohmann::ordered_json j;
  j["destination"] = st.dest.name;
  j["connected"] = static_cast<bool>(st.conn) && !st.awaiting_resume;
  j["link_instance"] = st.conn ? st.serving_instance : "";
  j["instance_switches"] = st.instance_switches;
  j["peer_address"] = st.conn ? st.peer_address : "";
  j["direction"] = st.conn ? to_string(st.direction) : "";
  // Where replication goes now: the dialed server, or the inbound connection the peer opened.
  j["address_in_use"] = !st.conn ? ""
                        : st.direction == conn_direction::inbound ? "inbound from " + st.peer_address
                                                                   : st.peer_address;
  j["last_connect_unix_ms"] = st.last_connect_unix_ms;
  j["last_disconnect_unix_ms"] = st.last_disconnect_unix_ms;
  j["acked"] = w.acked();
  j["next_read"] = w.next_read();
  j["durable_seq"] = st.durable_seq;
  j["send_before_durable"] = st.early;
  j["sendable_seq"] = read_bound(st);
  j["early_batches"] = st.early_batches;
  j["lag_records"] = st.durable_seq > w.acked() ? st.durable_seq - w.acked() : 0;
  auto now = logic::lag_tracker::clock::now();
  j["lag_bytes"] = st.lag->lag_bytes();
  j["lag_seconds"] = st.lag->lag_seconds();
  st.lag->set_stall_after(st.ctx->limits->stall_after()); // live on reload (live_limits)
  j["stalled"] = st.lag->stalled(now);
  j["stalled_for_s"] = std::chrono::duration<double>(st.lag->stalled_for(now)).count();
  j["in_flight_bytes"] = w.in_flight_bytes();
  j["max_in_flight_bytes"] = w.max_in_flight_bytes();
  j["window"] = window_status(*st.sizer);
  j["batches_sent"] = c.batches_sent;
  j["records_sent"] = c.records_sent;
  j["bytes_sent"] = c.bytes_sent;
  j["resends"] = c.resends;
  j["disk_reads"] = st.disk_reads;
  j["disk_read_bytes"] = st.disk_bytes;
  j["connects"] = st.connects;
  j["resumes_below_retention"] = st.trimmed_gaps;
  j["records_below_retention"] = st.trimmed_records;
  j["last_below_retention"] = {{"first", st.last_trimmed_first}, {"last", st.last_trimmed_last}};
  j["disconnects"] = st.disconnects;
  // Resume decisions on this link's connections, by reason (logic/resume_decision.hpp).
  nlohmann::ordered_json resumes = nlohmann::ordered_json::object();
  for (std::size_t r = 0; r < logic::resume_reason_count; ++r)
    resumes[std::string{logic::to_string(static_cast<logic::resume_reason>(r))}] = st.resumes[r];
  j["resumes"] = std::move(resumes);
  // Records routing admits that do not fit one record_batch frame; the link stops at the first
  // (blocked_at_seq, 0 when none) and never counts it as held.
  j["unsendable_records"] = c.unsendable;
  j["blocked_at_seq"] = w.blocked_at();
  j["protocol_violations"] = {{std::string{logic::to_string(logic::claim_kind::resume_above_journal)}, st.resume_above_journal},
                              {std::string{logic::to_string(logic::claim_kind::ack_above_sent)}, st.ack_above_sent}};
  j["anti_entropy"] = ae_status(st);
  j["compression"] = compression_status(st);
  j["runs_on"] = st.on_io_thread ? "io_thread" : "workers";
  return j.dump();
}

template <class Self>
destination_link_actor::behavior_type destination_link(Self self, std::shared_ptr<const replication_context> ctx,
                               config::destination_config dest, std::shared_ptr<instance_groups> groups,
                               link_options options, std::uint64_t acknowledged) {
  auto& st = self->state;
  st.on_io_thread = std::is_same<Self, io_link_self>::value;
  st.ctx = std::move(ctx);
  st.dest = std::move(dest);
  st.groups = std::move(groups);
  st.options = options;
  st.name = "link-" + st.dest.name;
  self->bind_probe(st.name);
  // The destination's whole group of instances (routing.hpp: nothing any of them held goes to it).
  st.route.emplace(st.dest.instances.empty() ? std::vector<std::string>{st.dest.name} : st.dest.instances,
                   st.dest.topics, st.dest.passthrough);
  // Seqs below the journal's base never existed here (docs/journal-format.md): a new journal
  // starts with nothing to send, not with base - 1 records of lag.
  const std::uint64_t before_base = st.ctx->runtime->log().base_seq() - 1;
  auto initial = std::max(acknowledged, before_base);
  st.window.emplace(options.max_in_flight_bytes, initial);
  logic::window_settings ws;
  ws.floor = options.max_in_flight_bytes;
  ws.ceiling = options.max_link_window_bytes;
  ws.links = options.links;
  st.sizer.emplace(ws, st.ctx->budget);
  st.reported = initial;
  st.durable_seq = st.ctx->runtime->log().durable_seq();
  st.lag.emplace(initial, st.durable_seq, logic::lag_tracker::clock::now(), st.ctx->limits->stall_after());
  self->send(st.ctx->journal, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  st.early = options.send_before_durable && st.dest.type == config::sync_type::sync;
  if (st.early)
    st.ctx->runtime->add_written_listener(caf::actor_cast<caf::actor>(self), !st.dest.passthrough.empty());
  self->send(st.ctx->journal, atoms::dest_conn::value, st.dest.name, false); // not connected yet
  start_anti_entropy(self);
  return {
    [=](atoms::link_attach, replication_connection_actor conn, const std::string& address, conn_direction dir,
        std::uint64_t peer_base, const std::string& instance) {
      auto& s = self->state;
      // Refill (routing.hpp): the serving instance's records from before its journal base go back to it.
      on_instance(self, instance, peer_base);
      if (s.conn && s.conn != conn) {
        s.window->on_disconnected(); // replaced: resend what the old connection had in flight
        s.sizer->on_disconnected();
        self->send(s.conn, atoms::ack_route::value, std::string{}); // it speaks for the destination no more
      }
      s.conn = std::move(conn);
      s.awaiting_resume = true;
      s.peer_address = address;
      s.direction = dir;
    },
    [=](atoms::peer_ack, std::uint64_t seq) {
      hop_trace::mark(hop_trace::point::link_ack, seq);
      auto& s = self->state;
      // Only the connection in use speaks for the destination: a replaced one may still be
      // delivering acks about what was sent on it.
      if (!s.conn || self->current_sender() != caf::actor_cast<caf::strong_actor_ptr>(s.conn))
        return;
      if (s.awaiting_resume) {
        on_resume_point(self, seq);
      } else if (auto violation = logic::check_ack(seq, s.window->ack_bound())) {
        on_violation(self, *violation);
        return;
      } else {
        report(self, s.window->on_ack(seq));
        size_window(s, seq);
      }
      pump(self);
    },
    [=](atoms::link_detach, const replication_connection_actor& conn) {
      auto& s = self->state;
      if (conn != s.conn)
        return;
      s.conn = nullptr;
      s.awaiting_resume = false;
      s.window->on_disconnected();
      s.sizer->on_disconnected();
      stop_anti_entropy(s);
      ++s.disconnects;
      s.last_disconnect_unix_ms = unix_ms_now();
      self->send(s.ctx->journal, atoms::dest_conn::value, s.dest.name, false);
      log::info(s.name, "destination ", s.dest.name, " disconnected; acknowledged up to ", s.window->acked());
    },
    [=](atoms::durable, std::uint64_t seq, std::uint64_t committed_bytes) {
      hop_trace::mark(hop_trace::point::link_woken, seq);
      if (seq > self->state.durable_seq)
        self->state.durable_seq = seq;
      self->state.lag->on_durable(seq, committed_bytes, logic::lag_tracker::clock::now());
      pump(self);
    },
    [=](atoms::written, std::uint64_t seq) { // the bound is read from the journal
      hop_trace::mark(hop_trace::point::link_woken, seq);
      pump(self);
    },
    [=](atoms::peer_minor, std::uint16_t minor) { on_peer_minor(self, minor); },
    [=](atoms::digest_in, const protocol::digest_reply& r) { on_digest_in(self, r); },
    [=](atoms::ae_tick) { on_ae_tick(self); },
    [=](atoms::peer_codec, std::uint16_t minor, std::uint8_t offer) { on_peer_codec(self, minor, offer); },
    [=](atoms::repair_in, const protocol::repair_ack& a) { on_repair_ack(self, a); },
    [=](atoms::status) -> std::string { return status_json(self->state); },
  };
}

} // namespace

bool runs_on_io_thread(const config::destination_config& dest) {
  return dest.type == config::sync_type::sync && dest.compression == "none";
}

destination_link_actor spawn_destination_link(caf::actor_system& sys, std::shared_ptr<const replication_context> ctx,
                                  config::destination_config dest, std::shared_ptr<instance_groups> groups,
                                  link_options options) {
  // Read here, by the spawner: it takes the journal's retention lock, which a retention pass holds
  // while it writes the positions file (an fsync), and a sync link starts on the I/O thread.
  const auto acknowledged = ctx->runtime->log().acknowledged(dest.name);
  if (runs_on_io_thread(dest))
    return sys.middleman().spawn_broker(destination_link<io_link_self>, std::move(ctx), std::move(dest),
                                        std::move(groups), options, acknowledged);
  return sys.spawn(destination_link<worker_link_self>, std::move(ctx), std::move(dest), std::move(groups), options,
                   acknowledged);
}

} // namespace tandem
