// The journal's decisions as a pure state machine (issue 15), in the shape of etcd raft's
// Step/Ready: the journal actor (actors/journal_actor.cpp) feeds it events with step(), then
// carries out what ready() returns, in this order (persist first, then answer):
//   1. submit `appends` to the group committer, in the given order (each carries the id that
//      its commit_done event must carry back);
//   2. deliver `replies` (one per request token, each exactly once);
//   3. notify durable subscribers of `durable`, and persisted watchers of `persisted_bound`.
// No CAF, threads, sockets or clocks: tests drive it directly (tests/actors/logic/journal_core_test.cpp,
// with a randomized model test of the promises below).
//
// Events (journal_event):
//   publish          a client's publish batch (token chosen by the caller, unique)
//   append           a replicated batch from a peer connection
//   commit_done      the committer's answer for an append id: durable (ok) or a write error
//   submit_refused   the committer refused an append at submit (queue_full, stopped)
//   destination_ack  destination `name` covers every local seq up to `seq` (link_window::acked).
//                    A disconnected destination simply stops acking; one that reconnects resumes
//                    from its persisted position (a lower, stale position is ignored).
//   tick             the time passed (sync_downgrade's rules; the actor ticks while wants_ticks())
//   connection       destination `name`'s link connected or disconnected
// commit_done, destination_ack, tick and connection carry now_ms (unix ms, read by the actor).
// admin(name, downgrade, now_ms): an operator's downgrade or upgrade (POST /destinations/...).
// add_destination / remove_destination / change_destination: a live config reload (issue 21;
// docs/config.md "Live reload"). Destination indexes never move: an added one takes the next
// index, a removed one stays as a tombstone (async, no route, unknown by name), so nothing indexed
// by destination (the ack tracker's needs, partial notes) has to be renumbered.
//   * added: its position is journal_facts::acknowledged (the journal holds it from 0, i.e. from
//     the oldest record held, as at startup, unless it knew the name); if sync, publishes accepted
//     from now on wait for it, publishes already waiting keep their needs.
//   * removed: no publish waits for it any more (waiting ones are released if nothing else holds
//     them, with a warning naming how many it held back); partial acks stop waiting for it.
//   * changed: sync_type as add/remove for the ack rule (async -> sync: from now on; sync ->
//     async: at once, waiting publishes included); topics: the needs of publishes accepted from now
//     on (waiting ones keep theirs); downgrade_after_ms: from now on (sync_downgrade.hpp).
// Queries: logon(publisher) (the publisher_logon_ack mark), and the figures for /status.
//
// The rules it composes (each part is its own tested class):
//   * Bad input first (record_admission): a publish's record the journal cannot store is refused
//     on its own (append_reply::refused); a replicated batch with one is refused whole with
//     invalid_record. So only a write error fails a batch.
//   * Replicated duplicates (origin_filter, shared with inbound_dedup): one per-origin high-water
//     across all connections, then the publisher marks (publisher_dedup).
//   * Publisher duplicates (publisher_dedup): a publish already held is not stored; its reply
//     lists it in `held` and goes out only once its original is safe (duplicate_waits).
//   * The ack rule (ack_tracker): a publish's reply (ok) goes out only once its records are
//     durable here AND covered by every sync destination whose topic filter admits one of them
//     (routing); async destinations never delay it. Admission: at most max_pending_publishes
//     publishes unanswered, beyond it queue_full at once.
//   * Safe marks: a publisher's safe mark (its logon answer) rises when its publish was released
//     AND the global bound (every local seq up to it persisted) passed it, since a safe mark is a
//     high-water mark and must not cover an older publish still waiting (deferred_safe).
//   * Sync downgrade (sync_downgrade, issue 16): a downgraded sync destination does not hold
//     acks back; a publish released while one it needed did not hold it names it in
//     append_reply::not_on, and once every such destination holds it, `replicated` says so (one
//     note per publisher, covering every partial ack up to that publisher_seq). The ack rule's
//     bound (persisted_bound, safe marks) leaves downgraded destinations out too.
//   * Reply order: a publish that needs no down sync destination is not held behind an older one
//     that does, and one with held records waits for their originals, so replies may leave out of
//     publish order; among publishes that stored all their records and need the same sync
//     destinations they leave in publish order. The client listener restores publish order per
//     connection.
//   * A write error (commit_done not ok): the publisher marks and the origin filter fall back to
//     what the journal durably holds; held records whose originals may be lost are refused.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "actors/logic/ack_tracker.hpp"
#include "actors/logic/duplicate_waits.hpp"
#include "actors/logic/inbound_dedup.hpp"
#include "actors/logic/publisher_dedup.hpp"
#include "actors/logic/routing.hpp"
#include "actors/logic/sync_downgrade.hpp"
#include "journal/record_codec.hpp"

namespace tandem {

// One record of a publish refused on its own (the rest of the batch is answered as usual).
struct refusal {
  std::uint32_t index = 0; // in the request's order
  std::string code;        // logic/record_admission.hpp codes, or a journal errc name
  std::string reason;      // human-readable

  friend bool operator==(const refusal&, const refusal&) = default;
};

struct append_reply {
  bool ok = false;
  std::uint64_t first_seq = 0;   // seqs assigned, in batch order (ok only)
  std::uint64_t last_seq = 0;
  std::uint64_t durable_seq = 0; // highest durable seq when the reply was made
  std::string error_code;        // journal errc name when !ok, e.g. "no_space", "queue_full";
                                 // "invalid_record" (append): a record breaks the journal's
                                 // limits, nothing stored -- the peer broke the protocol
  std::string error;             // human-readable reason when !ok
  // publish only: indexes (in the request's order) of records already held, which were not
  // stored and take no seq; the other records got first_seq.. in order. Empty: none held.
  std::vector<std::uint32_t> held;
  // publish only, ok only: records refused on their own, ascending by index (not stored, no seq,
  // not in `held`): a field breaking the journal's limits (record_too_large, invalid_field), or a
  // resend whose original a journal write error may have lost (that error's code). Every index
  // is in exactly one of held, refused, or the stored range.
  std::vector<refusal> refused;
  // publish only, ok only (issue 16): released as persisted while sync destinations it needed
  // were downgraded (logic/sync_downgrade.hpp) and did not hold it yet: their names, sorted.
  // Empty: every sync destination whose topic filter admits one of its records holds it (a
  // complete ack). When they catch up, journal_ready::replicated says so, per publisher.
  std::vector<std::string> not_on;
};

// Every message of `publisher` acked partially (append_reply::not_on non-empty) with a
// publisher_seq up to `up_to_publisher_seq` is now held by every sync destination it needed.
struct replicated_note {
  std::string publisher;
  std::uint64_t up_to_publisher_seq = 0;

  friend bool operator==(const replicated_note&, const replicated_note&) = default;
};

} // namespace tandem

namespace tandem::logic {

// What the core reads of the journal: in-memory figures, no I/O.
class journal_facts {
public:
  virtual ~journal_facts() = default;
  virtual const std::string& instance_name() const = 0;
  virtual std::uint64_t base_seq() const = 0; // constant after recovery
  virtual std::uint64_t durable_seq() const = 0;
  virtual std::uint64_t highest_origin_seq(std::string_view origin) const = 0;
  virtual std::uint64_t highest_earlier_own_seq() const = 0;
  // The persisted position of a destination (journal::acknowledged), read once at startup.
  virtual std::uint64_t acknowledged(const std::string& destination) const = 0;
};

namespace journal_events {
struct publish {
  std::uint64_t token = 0;
  std::vector<journal::record> records;
};
struct append {
  std::uint64_t token = 0;
  std::vector<journal::record> records;
  // An anti-entropy repair (protocol 1.6): records the caller found missing in the journal by
  // reading it (digest_scanner.hpp), one repair at a time. Checked like any replicated record,
  // then stored without the duplicate filters (their high-water marks are above these records
  // by construction); the origin filter still notes them, so a later normal copy is a duplicate.
  bool repair = false;
};
struct commit_done {
  std::uint64_t id = 0;
  append_reply result;
  std::uint64_t now_ms = 0; // when it became durable (unix ms; sync_downgrade's commit times)
};
struct submit_refused {
  std::uint64_t id = 0;
  std::string code;
  std::string reason;
};
struct destination_ack {
  std::string destination;
  std::uint64_t seq = 0;
  std::uint64_t now_ms = 0;
};
// The time passed (the actor ticks while sync_downgrade::wants_ticks()).
struct tick {
  std::uint64_t now_ms = 0;
};
// Destination `destination`'s link connected or lost its connection.
struct connection {
  std::string destination;
  bool connected = false;
  std::uint64_t now_ms = 0;
};
} // namespace journal_events

using journal_event = std::variant<journal_events::publish, journal_events::append, journal_events::commit_done,
                                   journal_events::submit_refused, journal_events::destination_ack,
                                   journal_events::tick, journal_events::connection>;

// Per publisher, the highest (or lowest) publisher_seq among some records (seq 0 left out).
using publisher_marks = std::vector<std::pair<std::string, std::uint64_t>>;

struct journal_ready {
  struct append {
    std::uint64_t id = 0; // the request's token; its commit_done carries it back
    std::vector<journal::record> records;
    // A publish whose answer is exactly its commit's outcome once durable: no sync destination
    // is configured, none of its records was held or refused, and no other publish is unanswered
    // (acks go out in seq order). The actor may then answer it from the committer thread
    // (append_request::durable_notice) unless a destination changed meanwhile; the core's own
    // reply follows as always.
    bool ack_when_durable = false;
    // A publish whose answer is its commit's outcome once these sync
    // destinations acked its last seq: sync destinations are configured, none downgraded, none of
    // its records held or refused, no other publish unanswered. Empty: not marked. The node may
    // answer it where the acks arrive (actors/sync_answers.hpp); the core's reply follows.
    std::vector<std::string> answer_on_acks;
  };
  struct reply {
    std::uint64_t token = 0;
    append_reply body;
  };
  std::vector<append> appends;
  std::vector<reply> replies;
  std::optional<std::uint64_t> durable;         // the durable end advanced to it
  std::optional<std::uint64_t> persisted_bound; // the ack rule's bound advanced to it
  publisher_marks safe_marks; // safe marks raised (publisher, publisher_seq), in order; logon reports them
  // For the log: write errors, records refused before the journal, broken invariants (error).
  struct note {
    bool error = false; // false: a warning
    std::string text;
  };
  std::vector<note> notes;
  // Partial acks that became complete (append_reply::not_on), in increasing order per publisher.
  std::vector<replicated_note> replicated;
  // Sync destinations downgraded or upgraded (logic/sync_downgrade.hpp), each once, for the log.
  std::vector<sync_transition> sync_changes;
};

// One destination as a live reload gives it to the core (issue 21).
struct destination_settings {
  std::string name;
  bool sync = false;
  std::string topics = ".*";
  std::uint64_t downgrade_after_ms = 0;
};

struct journal_core_options {
  // Destinations in config order, with whether each is sync.
  std::vector<std::pair<std::string, bool>> destinations;
  // Each destination's topic filter, parallel to `destinations`; missing or ".*" = every topic.
  std::vector<std::string> destination_topics;
  std::size_t max_pending_publishes = ack_tracker::default_max_pending;
  std::size_t max_publishers = publisher_dedup::default_max_publishers;
  // Each destination's downgrade_after_ms (config), parallel to `destinations`; missing = 0 (never).
  std::vector<std::uint64_t> downgrade_after_ms;
  std::uint64_t start_ms = 0; // unix ms at startup (sync_downgrade's clock)
};

class journal_core {
public:
  // `journal` must outlive the core.
  journal_core(const journal_facts& journal, journal_core_options options);

  // Startup, before any event: one journal record in seq order (journal::scan_durable).
  void load(std::string_view origin, std::uint64_t origin_seq, std::string_view publisher,
            std::uint64_t publisher_seq, std::uint64_t seq);

  void step(journal_event event);
  // Everything decided since the last call, each item exactly once.
  journal_ready ready();

  // An admin action (POST /destinations/NAME/downgrade|upgrade): its effect is in ready().
  admin_outcome admin(std::string_view destination, bool downgrade, std::uint64_t now_ms);
  // Live reconfiguration (see the header comment); their effects (releases, notes) are in ready().
  void add_destination(const destination_settings& d, std::uint64_t now_ms);
  void remove_destination(std::string_view name);
  void change_destination(const destination_settings& d, std::uint64_t now_ms);
  bool has_destination(std::string_view name) const { return destination_index_.count(std::string{name}) > 0; }
  // True while the time passing alone may change something (the actor ticks only then).
  bool wants_ticks() const { return downgrades_.wants_ticks(); }
  const sync_downgrade& downgrades() const noexcept { return downgrades_; }
  std::size_t replicated_notes_pending() const noexcept { return partial_.size(); }
  std::uint64_t replicated_notes_untracked() const noexcept { return partial_untracked_; }

  // The publisher_logon_ack answer (marks it most recently used).
  std::uint64_t logon(std::string_view publisher) { return publishers_.logon_mark(publisher); }
  // The answer for a client of protocol 1.2+: the publisher's COMPLETE mark -- its logon mark,
  // lowered below the oldest of its messages acked partially and not covered by a replicated
  // note yet, so a publisher that lost such an ack with its connection resends that message
  // instead of dropping it as held everywhere (the resend is answered as held, with not_on).
  // Kept in memory only: after a restart of this node it equals logon() (docs/protocol.md).
  std::uint64_t logon_complete(std::string_view publisher);

  // The ack rule's bound: every local seq up to it is durable here and covered by every sync
  // destination. notified_bound(): the last one ready() reported (or the one at startup).
  std::uint64_t release_bound() const;
  std::uint64_t notified_bound() const noexcept { return notified_bound_; }

  // Figures for /status and for the bounded-state checks of the tests.
  const ack_tracker& acks() const noexcept { return acks_; }
  // The configured destinations' names, in the core's order (after any reconfiguration).
  std::vector<std::string> destination_names() const {
    std::vector<std::string> out;
    for (const auto& d : options_.destinations)
      out.push_back(d.first);
    return out;
  }
  const publisher_dedup& publishers() const noexcept { return publishers_; }
  std::uint64_t duplicates_published() const noexcept { return duplicates_published_; }
  std::uint64_t duplicates_replicated() const noexcept { return duplicates_replicated_; }
  std::size_t held_publishes_waiting() const noexcept { return dup_waits_.size(); }
  std::size_t requests_pending() const noexcept { return pending_.size(); }
  std::size_t waiters() const noexcept { return waiters_.size(); }
  std::size_t deferred_safe_marks() const noexcept { return deferred_safe_.size(); }
  // The sync destinations that hold back at least one unanswered publish durable here, sorted.
  std::vector<std::string> waiting_on() const;

private:
  // A request in the committer, or a publish not answered yet. A publish holds an admission slot
  // of acks_ (ack_tracker contract) from submit until answer_publish().
  struct pending_request {
    bool publish = false;
    append_reply reply;               // kept while a publish waits for sync destinations
    publisher_marks marks;            // of the stored records: durable at commit, safe at release
    std::vector<std::uint32_t> held;  // publish: indexes of records already held (reply.held)
    // publish: the original of each held record (parallel to `held`), handed to dup_waits_ once
    // the stored part is released (or at once when nothing was stored)
    std::vector<duplicate_waits::original> originals;
    publisher_marks held_marks;       // publish: highest publisher_seq per publisher among `originals`
    std::vector<refusal> refused;     // publish: records refused on their own (reply.refused)
    bool committed = false;           // durable; a publish may still wait for sync destinations
    std::vector<bool> needs;          // publish: the destinations routing admits it to (empty: all)
    publisher_marks firsts;           // publish: lowest seq per publisher (publisher_dedup::note_local)
    std::optional<std::uint64_t> previous_submitted; // last_submitted_ before this one (submit_refused)
    std::vector<std::string> origins; // replicated: origins of the stored records (submit_refused)
  };
  using pending_map = std::unordered_map<std::uint64_t, pending_request>;

  void on(journal_events::publish& e);
  void on(journal_events::append& e);
  void on(journal_events::commit_done& e);
  void on(journal_events::submit_refused& e);
  void on(journal_events::destination_ack& e);
  void on(journal_events::tick& e);
  void on(journal_events::connection& e);
  void apply_sync_changes();
  // marks: highest publisher_seq per publisher; lows: lowest (empty: unknown, taken as 1).
  void note_partial(const publisher_marks& marks, const publisher_marks& lows, std::uint64_t seq,
                    const std::vector<std::uint32_t>& not_on);
  void emit_replicated();
  void note_held_not_on(pending_request& p);

  void refuse(std::uint64_t token, std::string code, std::string reason);
  void submit(std::uint64_t token, bool publish, std::vector<journal::record> records, pending_request p);
  bool drop_replicated_duplicates(std::vector<journal::record>& records);
  void note_repaired(const std::vector<journal::record>& records);
  void on_write_error(pending_map::iterator it, append_reply error);
  void answer_waiters(std::uint64_t id, const append_reply& rep);
  void answer_failed(pending_map::iterator it, append_reply error);
  void note(bool error, std::string text) { out_.notes.push_back({error, std::move(text)}); }
  void on_committed(pending_map::iterator it, append_reply rep, std::uint64_t now_ms);
  void answer_publish(pending_map::iterator it);
  void release_held_publishes();
  void refuse_unsafe_held(const append_reply& error);
  void release_persisted();
  void mark_safe(const publisher_marks& marks);
  std::vector<bool> needed_destinations(const std::vector<journal::record>& records) const;
  void rebuild_routes();
  void after_reconfiguration();

  const journal_facts& journal_;
  journal_core_options options_;
  ack_tracker acks_;
  publisher_dedup publishers_;
  origin_filter origins_;
  duplicate_waits dup_waits_; // publishes whose stored part is released, waiting for originals
  std::unordered_map<std::string, std::size_t> destination_index_;
  // Topic routes of the sync destinations with a filter (others need every publish); index as
  // options_.destinations; empty when no sync destination has a filter.
  std::vector<std::optional<destination_route>> sync_routes_;
  pending_map pending_;
  // Publishes released ahead of the global bound: their safe marks rise once the bound passes.
  std::multimap<std::uint64_t, publisher_marks> deferred_safe_;
  std::optional<std::uint64_t> last_submitted_; // newest append still in the committer
  std::unordered_multimap<std::uint64_t, std::uint64_t> waiters_; // append id -> dup-only tokens
  std::uint64_t notified_durable_ = 0;
  std::uint64_t notified_bound_ = 0;
  std::uint64_t duplicates_published_ = 0, duplicates_replicated_ = 0;
  sync_downgrade downgrades_;
  // Partial acks not complete yet, one per publisher (merged): the highest local seq and
  // publisher_seq acked partially, and the destinations that did not hold them. At most
  // max_publishers entries (beyond it a partial ack gets no note: logged, counted).
  struct partial {
    std::uint64_t last_seq = 0;
    std::uint64_t up_to = 0;
    std::uint64_t from = 0; // the lowest publisher_seq acked partially (logon_complete)
    std::vector<bool> missing; // per destination
  };
  std::unordered_map<std::string, partial> partial_;
  std::uint64_t partial_untracked_ = 0;
  journal_ready out_;
};

} // namespace tandem::logic
