// The journal actor: the one writer of the node's journal (every append and publish goes through
// it), and the keeper of its positions. Links, connections and subscriptions READ the journal
// directly (cursors, durable_seq, highest_origin_seq); nothing else writes it.
//
// A thin shell: every publish/append decision below (bad input, duplicates, the ack rule, held
// publishes, safe marks) is made by logic::journal_core (actors/logic/journal_core.hpp), a pure
// state machine; this actor feeds it events, submits the appends it asks for to the group
// committer, delivers its replies and notifies subscribers. Positions, groups, retention and
// /status stay here (file I/O).
//
//   append(batch)          -> append_reply once the batch is durable (or rejected with the reason)
//   publish(batch)         -> append_reply once the batch is "persisted": durable here AND acked by
//                             every sync destination whose topic filter admits one of its records
//                             (async ones never delay it): the ack rule. A sync destination
//                             that is downgraded (logic/sync_downgrade.hpp) does not delay it:
//                             the reply names it in `not_on` when it did not hold it yet
//   dest_ack(name, seq)    destination `name` holds everything up to `seq` (retention position,
//                          and the sync-destination half of the ack rule). From its link only
//                          (the peer's acks it checked, and its window's coverage); the
//                          higher counts, a lower or repeated one changes nothing
//   append_request::durable_notice: the committer thread tells the requester of an append
//                          (append_durable(id)) once it is durable, before the reply; of a
//                          publish that the commit alone answers, publish_durable(id, reply);
//                          of a publish that waits only for its sync destinations' acks, the
//                          same answer from the connection that routes the last of them
//                          (actors/sync_answers.hpp)
//   subscribe(actor)       send `durable(seq, committed_bytes)` to that actor whenever the durable
//                          end advances (committed_bytes: cumulative record bytes committed since
//                          the node started, for lag in bytes)
//   inbound_pos(peer)      -> what this node durably holds of `peer`'s journal (its resume point)
//   instance_group(instance, group)  remember the group a peer announced (persisted at once, so
//                          passthrough routing knows it after a restart, before the peer reconnects)
//   instance_group()       -> JSON object {instance: group} of every remembered group
//   inbound_held(peer, seq) update it (persisted lazily: a stale value only causes resends, which
//                          the receiver's duplicate check drops)
//   status                 -> JSON object with the journal's figures, and `inbound`: per origin what
//                          this node holds and who delivered it (logic/inbound_view.hpp)
//   logon(publisher_id)    -> (the publisher's safe mark, its complete mark): publisher_logon_ack's
//                          highest_seq for clients of protocol 1.1 and 1.2+ (journal_core::logon_complete)
//   watch_persisted(actor) send `persisted(bound)` to that actor whenever the ack rule's bound
//                          (every local seq up to it is durable here and acked by every sync
//                          destination) advances, and once at once (fully_durable subscriptions)
//   watch_replicated(actor) send `replicated(publisher, up_to_publisher_seq)` to that actor for
//                          every journal_ready::replicated note (logic/journal_core.hpp): every
//                          message of that publisher acked partially (append_reply::not_on) up to
//                          that publisher_seq is now held by every sync destination it needed.
//                          In increasing order per publisher; a watcher added later gets only
//                          the notes made from then on.
//   sync_admin(name, downgrade) -> JSON {"outcome": "ok" | "unknown_destination" | "not_sync", and
//                          when ok the destination's state as in /status}: an operator's downgrade
//                          (held until an upgrade) or upgrade (sync again once caught up)
//   dest_conn(name, up)    destination `name`'s link connected (true) or lost its connection
//                          (false): the downgrade rules' connection state (the link is its one owner)
//   waiting_on             -> the effectively sync destinations (not downgraded) that currently hold
//                          back at least one unanswered publish that is durable here, sorted by name
//                          (a publisher whose acks wait learns why)
//
// Bad input before the journal (logic/record_admission.hpp): every record is checked against the
// journal's limits before it touches a mark or reaches the committer. A publish's offending
// records are refused on their own (`refused`, codes record_too_large / invalid_field); a
// replicated batch with one is refused whole with error_code "invalid_record" (the caller closes
// that connection). So the committer fails only for write errors, and only a write error drops
// the marks and refuses held records whose originals are not safe.
//
// Duplicate rule (docs/protocol.md): every record that goes to the committer, published or
// replicated, passes logic::publisher_dedup first. A publish already held is not stored: the
// reply lists its index in `held`, and is sent only once the original is safe (the ack rule
// released it, or it arrived by replication and is durable) -- in a batch mixing new records and
// resends too: its reply waits for the new records' release AND the originals
// (logic::duplicate_waits). A replicated record already held is
// dropped like one the origin filter drops. The marks are rebuilt at startup from one scan of the
// journal (journal::scan_durable), on this actor's own thread before it serves any message. A
// scan the node's shutdown stopped (journal::stop_scans) leaves partial marks: then every append
// and publish is refused (error_code "stopped") until the actor exits, so none is stored on them.
//
// Admission: one count, logic::ack_tracker's (try_admit at submit, on_answered when the reply is
// delivered): at most max_pending_publishes publishes are unanswered (in the committer, waiting
// for sync destinations or for originals); beyond it a publish is answered queue_full at once.
// Every admitted publish is answered exactly once.
//
// It runs detached (its own thread), and may commit an append itself when it has nothing else
// waiting (journal_actor_options::commit_here): it sits on every publish's path. So the retention
// pass (the hold rule, the positions, extent and inbound positions files' fsyncs, the unlinks)
// runs on a retention worker of its own (actors/retention_worker.hpp), asked once per
// retention_interval and re-armed from its answer; the instance groups file (a new peer, rare)
// is still written here.
//
// Ordering contract: an append_reply with ok=true is sent only after the committer reported the
// batch durable (fdatasync completed). Replies are NOT in submission order: an append's reply
// goes out when its commit completes (in submission order, as the committer completes them; one
// with nothing new to store when the newest append before it completes, or at once), a publish's
// when the ack rule and its held records' originals allow, so a publish that needs no down sync
// destination overtakes an older one that does. The client listener restores publish order per
// connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/typed_actor.hpp>
#include <caf/replies_to.hpp>

#include "actors/atoms.hpp"
#include "actors/logic/journal_core.hpp"      // the decisions; append_reply, refusal
#include "actors/logic/record_admission.hpp" // error codes -> negative-ack reasons (nack_reason_for)
#include "actors/replication_messages.hpp"
#include "actors/journal_runtime.hpp"

namespace tandem {

// A batch of records to append. Shared, not copied, between actors; the journal actor moves the
// records out, so the sender must not use the batch after sending.
struct append_request {
  std::shared_ptr<std::vector<journal::record>> records;
  // append only: the peer instance and the connection's remote address that delivered the batch
  // (the inbound view, logic/inbound_view.hpp); empty for a publish (an append without a peer
  // shows as via "unknown").
  std::string via_peer{};
  std::string via_address{};
  // append only: an anti-entropy repair (protocol 1.6) whose records the digest scanner found
  // missing in this journal (actors/logic/anti_entropy_repair.hpp): stored without the
  // high-water duplicate filter, which would drop them (journal_events::append::repair).
  bool repair = false;
  // Issue 19 part 2: when set, the committer thread itself tells the requester the moment the
  // batch is durable, before the commit goes round through the journal actor; the reply still
  // follows, as for any request. Only a durable batch is told so: a failure comes as the reply
  // alone. An append: atoms::append_durable(id). A publish: atoms::publish_durable(id, reply),
  // its answer, only when the journal core decided that the commit alone answers it
  // (journal_ready::append::ack_when_durable: no sync destination configured, nothing held or
  // refused, no other publish unanswered) and no destination changed since it was submitted.
  // When sync destinations are configured and none of them is downgraded, such a publish is
  // answered the same way once the commit succeeded and the last of the sync destinations it
  // needs acked it: by whichever of the committer's thread or that destination's connection comes
  // last (journal_ready::append::answer_on_acks, actors/sync_answers.hpp).
  std::optional<std::uint64_t> durable_notice{};
};

// refusal and append_reply are defined in actors/logic/journal_core.hpp (plain C++, no CAF).

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, refusal& x) {
  return f(caf::meta::type_name("refusal"), x.index, x.code, x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_reply& x) {
  return f(caf::meta::type_name("append_reply"), x.ok, x.first_seq, x.last_seq, x.durable_seq, x.error_code,
           x.error, x.held, x.refused, x.not_on);
}

namespace atoms {
using logon = caf::atom_constant<caf::atom("tlogon")>;              // journal: a publisher's safe mark
using watch_persisted = caf::atom_constant<caf::atom("twatchpers")>; // journal: follow the ack rule's bound
using persisted = caf::atom_constant<caf::atom("tpersisted")>;       // journal -> watcher: the new bound
using watch_replicated = caf::atom_constant<caf::atom("twatchrepl")>; // journal: follow replicated notes
using replicated = caf::atom_constant<caf::atom("treplctd")>;        // journal -> watcher: partial acks completed
using waiting_on = caf::atom_constant<caf::atom("twaiton")>;         // journal: sync destinations holding acks back
using sync_admin = caf::atom_constant<caf::atom("tsyncadm")>;        // journal: admin downgrade/upgrade
using dest_conn = caf::atom_constant<caf::atom("tdestconn")>;        // link -> journal: connected or not
using sync_tick = caf::atom_constant<caf::atom("tsynctick")>;        // journal: time for the downgrade rules
using dest_config = caf::atom_constant<caf::atom("tdestcfg")>;       // supervisor -> journal: a live reload's destination
using repaired = caf::atom_constant<caf::atom("trepaired")>;        // scanner -> journal: a repair stored / held (counts)
using append_durable = caf::atom_constant<caf::atom("tappdur")>;     // committer -> requester: append_request::durable_notice
using publish_durable = caf::atom_constant<caf::atom("tpubdur")>;    // committer -> publisher: the answer (durable_notice)
} // namespace atoms

using journal_actor = caf::typed_actor<
  caf::replies_to<atoms::append, append_request>::with<append_reply>,
  caf::replies_to<atoms::publish, append_request>::with<append_reply>,
  caf::reacts_to<atoms::dest_ack, std::string, std::uint64_t>,
  caf::reacts_to<atoms::subscribe, caf::actor>,
  caf::replies_to<atoms::inbound_pos, std::string>::with<std::uint64_t>,
  caf::reacts_to<atoms::inbound_held, std::string, std::uint64_t>,
  caf::reacts_to<atoms::instance_group, std::string, std::string>,
  caf::replies_to<atoms::instance_group>::with<std::string>,
  caf::replies_to<atoms::status>::with<std::string>,
  caf::replies_to<atoms::logon, std::string>::with<std::uint64_t, std::uint64_t>,
  caf::reacts_to<atoms::watch_persisted, caf::actor>,
  caf::reacts_to<atoms::watch_replicated, caf::actor>,
  caf::replies_to<atoms::waiting_on>::with<std::vector<std::string>>,
  caf::replies_to<atoms::sync_admin, std::string, bool>::with<std::string>,
  caf::reacts_to<atoms::dest_conn, std::string, bool>,
  caf::reacts_to<atoms::sync_tick>,
  // A live reload (issue 21): destination NAME is configured (present: sync, topics,
  // downgrade_after_ms; added when unknown) or removed (!present). Answered once the journal's
  // retention holds and ack rule know it (logic/journal_core.hpp).
  caf::replies_to<atoms::dest_config, std::string, bool, bool, std::string, std::uint64_t>::with<bool>,
  caf::reacts_to<atoms::retention>,
  caf::reacts_to<atoms::commit_done, std::uint64_t, append_reply>,
  caf::reacts_to<atoms::repaired, std::uint64_t, std::uint64_t>>; // (stored, held) of one repair_batch

struct journal_actor_options {
  std::chrono::milliseconds retention_interval{1000};
  // Destinations in config order, with whether each is `sync` (the ack rule waits for those).
  std::vector<std::pair<std::string, bool>> destinations;
  // Each destination's topic filter (config `topics`), parallel to `destinations`; missing or
  // ".*" = every topic. A publish waits only for the sync destinations whose filter admits one
  // of its records.
  std::vector<std::string> destination_topics;
  std::size_t max_pending_publishes = 65536; // publish batches not answered yet (see Admission)
  std::string inbound_positions_file;        // empty: not persisted
  std::string instance_groups_file;          // empty: not persisted
  caf::actor timers;                         // timer_relay.hpp; spawned (and linked) if none
  std::size_t max_publishers = 100'000;      // publisher_dedup bound (least recently used evicted)
  // Each destination's downgrade_after_ms (config), parallel to `destinations`; missing = 0.
  std::vector<std::uint64_t> downgrade_after_ms;
  std::chrono::milliseconds sync_tick_interval{100}; // the downgrade rules' clock, only while needed
  // Appends are committed on this actor's own thread when its mailbox is empty and the committer
  // has no commit in hand (group_committer::flush). Tests turn it off to drive the committer
  // thread's path, which a loaded node takes.
  bool commit_here = true;
};

journal_actor spawn_journal_actor(caf::actor_system& sys, std::shared_ptr<journal_runtime> rt,
                                  journal::recovery_report recovery, journal_actor_options options = {});

} // namespace tandem

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(tandem::append_request)
