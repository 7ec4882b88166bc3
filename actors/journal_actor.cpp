#include "actors/journal_actor.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <stdexcept>
#include <optional>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/instrumented_actor.hpp"
#include <nlohmann/json.hpp>

#include "actors/fatal_exit.hpp"
#include "actors/log.hpp"
#include "actors/logic/ack_tracker.hpp"
#include "actors/logic/duplicate_waits.hpp"
#include "actors/logic/publisher_dedup.hpp"
#include "actors/logic/record_admission.hpp"
#include "actors/logic/routing.hpp"
#include "journal/record_codec.hpp"
#include "actors/timer_relay.hpp"

namespace tandem {

namespace {

constexpr std::string_view component = "journal";

// Per publisher, the highest publisher_seq among some records (seq 0 left out).
using publisher_marks = std::vector<std::pair<std::string, std::uint64_t>>;

// Per publisher, the highest (lowest: `lowest`) publisher_seq of a batch.
publisher_marks marks_of(const std::vector<journal::record>& records, bool lowest = false) {
  publisher_marks out;
  for (const auto& r : records) {
    if (r.publisher_seq == 0)
      continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& m) { return m.first == r.publisher; });
    if (it == out.end())
      out.emplace_back(r.publisher, r.publisher_seq);
    else
      it->second = lowest ? std::min(it->second, r.publisher_seq) : std::max(it->second, r.publisher_seq);
  }
  return out;
}

struct journal_state {
  std::shared_ptr<journal_runtime> rt;
  journal::recovery_report recovery;
  journal_actor_options options;
  std::uint64_t next_request = 0;
  // An append in the committer, or a publish not answered yet. A publish holds an admission
  // slot of `acks` (ack_tracker contract) from submit() until answer_publish().
  struct pending_append {
    caf::typed_response_promise<append_reply> promise;
    bool publish = false;
    append_reply reply; // kept while a publish waits for sync destinations
    publisher_marks marks; // of the stored records: durable at commit, safe at release
    std::vector<std::uint32_t> held; // publish: indexes of records already held (reply.held)
    // publish: the original of each held record (parallel to `held`), handed to dup_waits once
    // the stored part is released (or at once when nothing was stored)
    std::vector<logic::duplicate_waits::original> originals;
    std::vector<refusal> refused;    // publish: records refused on their own (reply.refused)
    bool committed = false;          // durable; a publish may still wait for sync destinations
    std::vector<bool> needs;         // publish: the destinations routing admits it to (empty: all)
    publisher_marks firsts;          // publish: lowest seq per publisher (publisher_dedup::note_local)
  };
  std::unordered_map<std::uint64_t, pending_append> pending;
  std::uint64_t removed_segments = 0;
  std::optional<logic::ack_tracker> acks;
  // Topic routes of the sync destinations with a filter (others need every publish); index as
  // options.destinations; empty when no sync destination has a filter.
  std::vector<std::optional<logic::destination_route>> sync_routes;
  // Publishes released ahead of the global bound (they needed no down sync destination): their
  // publishers' safe marks rise only once the bound passes them (a safe mark is a high-water
  // mark and must not cover an older publish still waiting). seq -> marks.
  std::multimap<std::uint64_t, publisher_marks> deferred_safe;
  std::unordered_map<std::string, std::size_t> destination_index;
  std::vector<caf::actor> durable_listeners;
  std::uint64_t notified_durable = 0;
  std::map<std::string, std::uint64_t> inbound; // peer -> what we durably hold of its journal
  bool inbound_dirty = false;
  std::map<std::string, std::string> groups; // instance -> group, as announced (instance_groups_file)
  // Duplicate filter for replicated appends, across all connections: highest origin_seq per
  // origin submitted to the committer (durable or not yet). Two connections with the same peer
  // (during a duplicate-connection switch) can carry the same records; this actor sees every
  // append in order, so it is the one place where the second copy can be recognised.
  std::unordered_map<std::string, std::uint64_t> submitted_high_water;
  std::optional<std::uint64_t> last_submitted;              // newest append still in the committer
  std::unordered_multimap<std::uint64_t, caf::typed_response_promise<append_reply>> waiters; // dup-only batches
  std::set<std::string> inbound_checked; // peers whose position was reconciled with the journal
  std::optional<logic::publisher_dedup> publishers;
  // Publishes (tokens into `pending`) whose stored part is released, or that stored nothing,
  // waiting for the originals of their held records to be safe (defect 4).
  logic::duplicate_waits dup_waits;
  std::uint64_t duplicates_published = 0, duplicates_replicated = 0;
  std::uint64_t scan_records = 0;
  std::chrono::milliseconds scan_elapsed{0};
  std::string scan_error;
  std::vector<caf::actor> bound_listeners; // watch_persisted
  std::uint64_t notified_bound = 0;
  static inline const char* name = "journal";
};

using journal_self = instrumented<caf::stateful_actor<journal_state, journal_actor::base>>*;

append_reply reply_of(const journal::result<journal::commit_ok>& r) {
  append_reply rep;
  if (r) {
    rep.ok = true;
    rep.first_seq = r->range.first;
    rep.last_seq = r->range.last;
    rep.durable_seq = r->durable_seq;
  } else {
    auto st = r.error();
    rep.error_code = journal::to_string(st.code());
    rep.error = st.message();
  }
  return rep;
}

std::string status_json(journal_state& st) {
  auto& j = st.rt->log();
  auto stats = st.rt->committer().stats();
  nlohmann::ordered_json out;
  out["dir"] = j.dir();
  out["base_seq"] = j.base_seq(); // the journal's first-ever seq (docs/journal-format.md)
  out["first_seq"] = j.first_seq();
  out["segment_read_bytes"] = j.cursor_disk_bytes(); // read behind the tail window
  out["durable_seq"] = j.durable_seq();
  std::uint64_t bytes = 0;
  auto segments = j.segments();
  for (const auto& s : segments)
    bytes += s.bytes;
  out["segments"] = segments.size();
  out["bytes"] = bytes;
  out["removed_segments"] = st.removed_segments;
  out["publishes_waiting_for_sync_destinations"] = st.acks->pending();
  out["publishes_unanswered"] = st.acks->admitted(); // the max_pending_publishes count
  out["committer"] = {{"syncs", stats.syncs},     {"batches", stats.batches}, {"records", stats.records},
                      {"bytes", stats.bytes},     {"rejected", stats.rejected}};
  auto holds = nlohmann::ordered_json::array();
  for (const auto& h : j.held_back())
    holds.push_back({{"destination", h.name}, {"acknowledged", h.acknowledged}, {"segments", h.segments},
                     {"bytes", h.bytes}});
  out["held_back"] = holds;
  const auto& p = *st.publishers;
  out["publishers"] = {{"known", p.publishers()},
                       {"max", p.max_publishers()},
                       {"evicted", p.evictions()},
                       {"duplicates_published", st.duplicates_published},
                       {"duplicates_replicated", st.duplicates_replicated},
                       {"held_publishes_waiting", st.dup_waits.size()},
                       {"unsafe_since_startup", p.unsafe_at_startup()},
                       {"startup_scan", {{"records", st.scan_records},
                                         {"elapsed_ms", st.scan_elapsed.count()},
                                         {"error", st.scan_error}}}};
  const auto& r = st.recovery;
  out["recovery"] = {{"elapsed_ms", std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed).count()},
                     {"segments", r.segments},
                     {"truncated_bytes", r.truncated_bytes},
                     {"rebuilt_indexes", r.rebuilt_indexes.size()}};
  return out.dump();
}

// The ack rule's bound: every local seq up to it is durable and acked by every sync destination.
std::uint64_t release_bound(const journal_state& st) {
  auto bound = st.acks->local_durable();
  for (std::size_t i = 0; i < st.options.destinations.size(); ++i)
    if (st.options.destinations[i].second)
      bound = std::min(bound, st.acks->destination_position(i));
  return bound;
}

// Delivers a publish's answer (its reply, completed with held and refused when ok) and frees
// its admission slot. Every admitted publish ends here exactly once.
void answer_publish(journal_state& st, std::unordered_map<std::uint64_t, journal_state::pending_append>::iterator it) {
  auto& p = it->second;
  if (p.reply.ok) {
    p.reply.held = std::move(p.held);
    p.reply.refused = std::move(p.refused);
  }
  p.promise.deliver(std::move(p.reply));
  st.acks->on_answered();
  st.pending.erase(it);
}

// Answers the publishes whose held records' originals are all safe now (their stored part, if
// any, was released already), in the order they started waiting.
void release_held_publishes(journal_state& st) {
  for (auto token : st.dup_waits.take_safe(*st.publishers))
    if (auto it = st.pending.find(token); it != st.pending.end()) {
      it->second.reply.durable_seq = std::max(it->second.reply.durable_seq, st.rt->log().durable_seq());
      answer_publish(st, it);
    }
}

// Moves the held records at positions `unsafe` (ascending, into p.held) to p.refused.
void refuse_held(journal_state::pending_append& p, const std::vector<std::size_t>& unsafe, const append_reply& error) {
  if (unsafe.empty())
    return;
  std::vector<std::uint32_t> kept;
  std::size_t next = 0;
  for (std::size_t k = 0; k < p.held.size(); ++k) {
    if (next < unsafe.size() && unsafe[next] == k) {
      ++next;
      p.refused.push_back({p.held[k], error.error_code, "the original may be lost: " + error.error});
    } else {
      kept.push_back(p.held[k]);
    }
  }
  p.held = std::move(kept);
  std::sort(p.refused.begin(), p.refused.end(), [](const refusal& a, const refusal& b) { return a.index < b.index; });
}

// A journal write error: the originals of held records that are not safe may be lost with it.
// Those records are refused with the error (a refused seq is never resent, so nothing is acked
// that may not be stored): at once for the publishes already waiting for their originals, at
// their answer for those whose stored part is still in the committer or waits for sync
// destinations (else they would wait for an original that may never come).
void refuse_unsafe_held(journal_state& st, const append_reply& error) {
  for (auto& lost : st.dup_waits.take_on_write_error(*st.publishers)) {
    auto it = st.pending.find(lost.token);
    if (it == st.pending.end())
      continue;
    refuse_held(it->second, lost.unsafe, error);
    answer_publish(st, it);
  }
  for (auto& [id, p] : st.pending) {
    if (!p.publish || p.originals.empty())
      continue;
    auto unsafe = logic::duplicate_waits::unsafe_positions(p.originals, *st.publishers);
    refuse_held(p, unsafe, error);
    for (auto k = unsafe.rbegin(); k != unsafe.rend(); ++k) // keep originals parallel to held
      p.originals.erase(p.originals.begin() + static_cast<std::ptrdiff_t>(*k));
  }
}

void notify_bound(journal_state& st) {
  auto bound = release_bound(st);
  if (bound <= st.notified_bound)
    return;
  st.notified_bound = bound;
  for (const auto& l : st.bound_listeners)
    caf::anon_send(l, atoms::persisted::value, bound);
}

// The destinations a publish batch must reach before its persisted ack: every sync destination
// without a topic filter, and those whose filter admits one of its records (routing.hpp; a local
// publish has no path, so the topic decides). Empty when every destination is needed anyway.
std::vector<bool> needed_destinations(journal_state& st, const std::vector<journal::record>& records) {
  if (st.sync_routes.empty()) // no sync destination has a topic filter
    return {};
  std::vector<bool> needs(st.sync_routes.size(), true);
  const std::string& me = st.rt->log().instance_name();
  for (std::size_t i = 0; i < st.sync_routes.size(); ++i) {
    if (!st.sync_routes[i])
      continue;
    bool admitted = false;
    for (const auto& r : records) {
      logic::route_input in{me, r.topic, {}, {}, 0};
      if ((admitted = st.sync_routes[i]->admits(in)))
        break;
    }
    needs[i] = admitted;
  }
  return needs;
}

void release_persisted(journal_state& st) {
  const auto bound = release_bound(st); // take_ready() moves no position
  for (const auto& r : st.acks->take_ready()) {
    auto it = st.pending.find(r.token);
    if (it == st.pending.end())
      continue;
    if (r.kind != logic::release_kind::persisted) {
      it->second.reply = {};
      it->second.reply.error_code = "io_error";
      it->second.reply.error = "the journal rejected the batch";
      answer_publish(st, it);
      continue;
    }
    if (r.seq <= bound) {
      for (const auto& [publisher, seq] : it->second.marks)
        st.publishers->on_safe(publisher, seq);
    } else {
      st.deferred_safe.emplace(r.seq, std::move(it->second.marks));
    }
    // The stored part is persisted; the held part is acked only once its originals are safe
    // (defect 4: a mixed batch waited for its stored part only). Answered by
    // release_held_publishes() below, at once when nothing (more) is needed.
    st.dup_waits.wait(r.token, std::move(it->second.originals));
    it->second.originals.clear(); // moved out: refuse_unsafe_held() looks only at those not waiting
  }
  while (!st.deferred_safe.empty() && st.deferred_safe.begin()->first <= bound) {
    for (const auto& [publisher, seq] : st.deferred_safe.begin()->second)
      st.publishers->on_safe(publisher, seq);
    st.deferred_safe.erase(st.deferred_safe.begin());
  }
  st.publishers->on_release_bound(bound);
  release_held_publishes(st);
  notify_bound(st);
}

// Rebuilds the publisher marks from the journal (startup, on this detached actor's thread).
void load_publisher_marks(journal_state& st) {
  auto& journal = st.rt->log();
  const auto bound = release_bound(st);
  const auto& me = journal.instance_name();
  auto started = std::chrono::steady_clock::now();
  auto scanned = journal.scan_durable([&](std::string_view rec) {
    ++st.scan_records;
    auto seq = journal::peek_seq(rec);
    // Replicated records are held by their sender too; local ones are safe once the ack rule
    // released them.
    bool safe = journal::peek_origin(rec) != me || seq <= bound;
    if (journal::peek_origin(rec) == me && journal::peek_origin_seq(rec) < journal.base_seq())
      journal.note_earlier_own_seq(journal::peek_origin_seq(rec)); // refilled (docs/protocol.md)
    st.publishers->load(journal::peek_publisher(rec), journal::peek_publisher_seq(rec), seq, safe);
    if (journal::peek_origin(rec) == me && journal::peek_origin_seq(rec) >= journal.base_seq())
      st.publishers->note_local(journal::peek_publisher(rec), journal::peek_publisher_seq(rec));
  });
  st.scan_elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (!scanned.ok()) {
    st.scan_error = scanned.to_string();
    log::error(component, "publisher marks rebuilt from part of the journal only (resends of the rest would be "
                          "stored again): ", st.scan_error);
  }
  log::info(component, "publisher marks: ", st.publishers->publishers(), " publisher(s) from ", st.scan_records,
            " record(s) in ", st.scan_elapsed.count(), " ms");
}

// The JSON object persisted in `path` (none configured: empty path), for the loaders below: null
// when absent (first start), or when it is not an object (logged with `consequence`).
nlohmann::json load_json_object(const std::string& path, const char* consequence) {
  if (path.empty())
    return nullptr;
  auto text = journal::posix_file_system().read_file(path);
  if (!text)
    return nullptr; // absent on first start
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (!doc.is_object()) {
    log::warn(component, path, " is not a JSON object; ", consequence);
    return nullptr;
  }
  return doc;
}

void load_inbound(journal_state& st) {
  auto doc = load_json_object(st.options.inbound_positions_file, "peers resume from 0");
  if (!doc.is_object())
    return;
  for (const auto& [peer, seq] : doc.items())
    if (seq.is_number_unsigned())
      st.inbound[peer] = seq.get<std::uint64_t>();
}

// Peers announce their group in every hello; at most this many are remembered (names are chosen
// by whoever connects, so the file must not grow without bound).
constexpr std::size_t max_remembered_groups = 4096;

void load_groups(journal_state& st) {
  auto doc = load_json_object(st.options.instance_groups_file, "instance groups are relearned");
  if (!doc.is_object())
    return;
  for (const auto& [instance, group] : doc.items())
    if (group.is_string() && st.groups.size() < max_remembered_groups)
      st.groups[instance] = group.get<std::string>();
}

void remember_group(journal_state& st, const std::string& instance, const std::string& group) {
  auto it = st.groups.find(instance);
  if (it != st.groups.end() && it->second == group)
    return;
  if (it == st.groups.end() && st.groups.size() >= max_remembered_groups) {
    log::warn(component, "not remembering the group of ", instance, ": ", max_remembered_groups,
              " instances already known");
    return;
  }
  st.groups[instance] = group;
  if (st.options.instance_groups_file.empty())
    return;
  // Rare (a new peer, or one that changed group): written at once, on this actor's own thread.
  auto ok = journal::posix_file_system().write_file_atomic(st.options.instance_groups_file,
                                                           nlohmann::json(st.groups).dump());
  if (!ok.ok())
    log::warn(component, "cannot persist instance groups: ", ok.to_string());
}

void save_inbound(journal_state& st) {
  if (!st.inbound_dirty || st.options.inbound_positions_file.empty())
    return;
  nlohmann::json doc(st.inbound);
  auto ok = journal::posix_file_system().write_file_atomic(st.options.inbound_positions_file, doc.dump());
  if (!ok.ok())
    log::warn(component, "cannot persist inbound positions: ", ok.to_string());
  else
    st.inbound_dirty = false;
}

caf::typed_response_promise<append_reply> submit(journal_self self, append_request& req, bool publish) {
  auto& st = self->state;
  auto rp = self->make_response_promise<append_reply>();
  auto refuse = [&](std::string code, std::string why) {
    append_reply rep;
    rep.error_code = std::move(code);
    rep.error = std::move(why);
    rp.deliver(std::move(rep));
    return rp;
  };
  if (!req.records || req.records->empty())
    return refuse("invalid_argument", "empty batch");
  // One count (ack_tracker contract): a slot per publish from here until answer_publish(), so
  // the tracker can never refuse what this let through (defect 3).
  if (publish && !st.acks->try_admit())
    return refuse("queue_full", "too many publishes wait for their persisted ack");
  auto& dedup = *st.publishers;
  const std::string& me = st.rt->log().instance_name();
  std::vector<std::uint32_t> held;
  std::vector<logic::duplicate_waits::original> originals;
  std::vector<refusal> refused;
  if (publish) {
    // Bad input first (defect 6): a record the journal cannot store is refused on its own before
    // it touches a mark, and never reaches the committer, whose errors are write errors.
    // Then the duplicate rule: a publish at or below its publisher's accepted mark is already held.
    auto& recs = *req.records;
    std::size_t out = 0;
    for (std::size_t i = 0; i < recs.size(); ++i) {
      if (auto bad = logic::check_record_limits(recs[i], recs[i].origin.empty() ? me : recs[i].origin)) {
        refused.push_back({static_cast<std::uint32_t>(i), std::move(bad->code), std::move(bad->reason)});
        continue;
      }
      if (dedup.admit(recs[i].publisher, recs[i].publisher_seq)) {
        dedup.note_local_submitted(recs[i].publisher, recs[i].publisher_seq);
        if (out != i)
          recs[out] = std::move(recs[i]);
        ++out;
        continue;
      }
      held.push_back(static_cast<std::uint32_t>(i));
      originals.push_back({std::move(recs[i].publisher), recs[i].publisher_seq});
    }
    recs.resize(out);
    st.duplicates_published += held.size();
    if (!refused.empty())
      log::warn(component, "publish: ", refused.size(), " record(s) refused, first: ", refused.front().code, ": ",
                refused.front().reason);
    if (recs.empty()) {
      // Nothing to store: answer once every original is safe (maybe at once). Earlier batches of
      // the same connection may still wait; the client listener keeps the acks in publish order.
      auto id = st.next_request++;
      journal_state::pending_append p{rp, true, {}, {}, std::move(held), {}, std::move(refused), true, {}, {}};
      p.reply.ok = true;
      st.pending.emplace(id, std::move(p));
      st.dup_waits.wait(id, std::move(originals));
      release_held_publishes(st);
      return rp;
    }
  } else {
    // A replicated record the journal cannot store: the peer claims something it cannot have.
    // Refused whole, with its own code, before anything is marked; the caller closes that
    // connection. Not a write error: nothing else is touched.
    for (std::size_t i = 0; i < req.records->size(); ++i) {
      const auto& r = (*req.records)[i];
      if (auto bad = logic::check_record_limits(r, r.origin.empty() ? me : r.origin)) {
        log::warn(component, "replicated batch refused: record ", i, " (origin ", r.origin.substr(0, 64),
                  ", origin_seq ", r.origin_seq, "): ", bad->code, ": ", bad->reason);
        return refuse(std::string{logic::invalid_record_code},
                      "record " + std::to_string(i) + ": " + bad->code + ": " + bad->reason);
      }
    }
    // Replicated records: drop those already held or already on their way to the journal.
    auto& recs = *req.records;
    std::unordered_map<std::string, std::uint64_t> by_origin; // per batch: one journal lookup per origin
    auto kept = std::remove_if(recs.begin(), recs.end(), [&](const journal::record& r) {
      if (r.origin.empty())
        return false; // published here: the journal assigns origin and origin_seq
      // Our own origin: only a record an earlier incarnation of this node published (below the
      // journal base), refilled by a partner, may be new (docs/protocol.md, "Refill"). Its
      // high-water is highest_earlier_own_seq(), kept under our own name below.
      const bool own = r.origin == me;
      if (own && r.origin_seq >= st.rt->log().base_seq())
        return true;
      auto h = by_origin.find(r.origin);
      if (h == by_origin.end()) {
        auto hw = own ? st.rt->log().highest_earlier_own_seq() : st.rt->log().highest_origin_seq(r.origin);
        if (auto s = st.submitted_high_water.find(r.origin); s != st.submitted_high_water.end())
          hw = std::max(hw, s->second);
        h = by_origin.emplace(r.origin, hw).first;
      }
      if (r.origin_seq <= h->second)
        return true;
      h->second = r.origin_seq;
      // New by origin, but maybe already held by publisher (e.g. a publisher resent it to this
      // node after failing over): received all the same, not stored again.
      // A refilled record of ours: the publisher may have published newer messages to this
      // node already (its mark is above this seq), so the mark cannot tell; first_local can
      // (publisher_dedup.hpp): held iff the publisher's first direct publish to this
      // incarnation is at or below it.
      if (own) {
        const auto first = dedup.first_local(r.publisher);
        if (r.publisher_seq != 0 && first != 0 && r.publisher_seq >= first) {
          ++st.duplicates_replicated;
          return true;
        }
        dedup.admit(r.publisher, r.publisher_seq); // raises the mark when it is the highest
      } else if (!dedup.admit(r.publisher, r.publisher_seq)) {
        ++st.duplicates_replicated;
        return true;
      }
      return false;
    });
    recs.erase(kept, recs.end());
    for (const auto& [origin, hw] : by_origin)
      st.submitted_high_water[origin] = hw;
    if (recs.empty()) {
      // Everything is held or pending: answer when the newest pending append completes (appends
      // complete in order), so the caller never acks a copy that is not durable yet.
      // (A publish stays pending after its commit, waiting for sync destinations: waiting for
      // it then would wait for its commit_done, which has passed.)
      if (auto last = st.last_submitted ? st.pending.find(*st.last_submitted) : st.pending.end();
          last != st.pending.end() && !last->second.committed) {
        st.waiters.emplace(*st.last_submitted, rp);
        return rp;
      }
      append_reply rep;
      rep.ok = true;
      rep.durable_seq = st.rt->log().durable_seq();
      rp.deliver(std::move(rep));
      return rp;
    }
  }
  auto id = st.next_request++;
  auto marks = marks_of(*req.records);
  auto needs = publish ? needed_destinations(st, *req.records) : std::vector<bool>{};
  auto firsts = publish ? marks_of(*req.records, true) : publisher_marks{};
  // The callback runs on the committer's thread: it only posts a message.
  auto handle = caf::actor_cast<caf::actor>(self);
  auto submitted = st.rt->committer().submit(
    std::move(*req.records), [handle, id](const journal::result<journal::commit_ok>& r) {
      caf::anon_send(handle, atoms::commit_done::value, id, reply_of(r));
    });
  if (!submitted.ok()) {
    dedup.on_append_failed(); // what it admitted is not on its way to the journal
    if (publish)
      st.acks->on_answered();
    return refuse(journal::to_string(submitted.code()), submitted.message());
  }
  st.pending.emplace(id, journal_state::pending_append{rp, publish, {}, std::move(marks), std::move(held),
                                                       std::move(originals), std::move(refused), false,
                                                       std::move(needs), std::move(firsts)});
  st.last_submitted = id;
  return rp;
}

journal_actor::behavior_type journal_behavior(journal_self self, std::shared_ptr<journal_runtime> rt,
                                              journal::recovery_report recovery, journal_actor_options options) {
  self->bind_probe("journal");
  fail_fast_on_exception(self, "journal"); // an exception here leaves no node worth keeping alive
  const bool test_crash = test_crash_requested("journal"); // false unless built with TANDEM_TEST_HOOKS
  self->state.rt = std::move(rt);
  self->state.recovery = std::move(recovery);
  self->state.options = options;
  auto& st0 = self->state;
  std::vector<bool> sync_flags;
  for (std::size_t i = 0; i < options.destinations.size(); ++i) {
    st0.destination_index[options.destinations[i].first] = i;
    sync_flags.push_back(options.destinations[i].second);
  }
  st0.acks.emplace(std::move(sync_flags), options.max_pending_publishes);
  st0.sync_routes.resize(options.destinations.size());
  for (std::size_t i = 0; i < options.destinations.size(); ++i)
    if (options.destinations[i].second && i < options.destination_topics.size()
        && options.destination_topics[i] != ".*" && !options.destination_topics[i].empty())
      st0.sync_routes[i].emplace(options.destinations[i].first, options.destination_topics[i], std::vector<std::string>{});
  if (std::none_of(st0.sync_routes.begin(), st0.sync_routes.end(), [](const auto& r) { return r.has_value(); }))
    st0.sync_routes.clear();
  for (std::size_t i = 0; i < options.destinations.size(); ++i)
    st0.acks->on_destination_acked(i, st0.rt->log().acknowledged(options.destinations[i].first));
  st0.acks->on_local_durable(st0.rt->log().durable_seq());
  st0.notified_durable = st0.rt->log().durable_seq();
  st0.notified_bound = release_bound(st0);
  st0.publishers.emplace(options.max_publishers);
  load_publisher_marks(st0);
  load_inbound(st0);
  load_groups(st0);
  // Timers go through a relay (timer_relay.hpp) so a pending one never keeps this detached actor
  // alive: the actor system waits for every detached actor to be destroyed.
  if (!self->state.options.timers) {
    self->state.options.timers = spawn_timer_relay(self->system());
    self->link_to(self->state.options.timers);
  }
  self->set_down_handler([=](caf::down_msg& down) {
    auto& ls = self->state.durable_listeners;
    ls.erase(std::remove_if(ls.begin(), ls.end(), [&](const caf::actor& a) { return a.address() == down.source; }),
             ls.end());
    auto& bs = self->state.bound_listeners;
    bs.erase(std::remove_if(bs.begin(), bs.end(), [&](const caf::actor& a) { return a.address() == down.source; }),
             bs.end());
  });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    save_inbound(self->state);
    self->quit(msg.reason);
  });
  arm_timer(self->state.options.timers, options.retention_interval, self->address(),
            caf::make_message(atoms::retention::value));
  return {
    [=](atoms::append, append_request& req) { return submit(self, req, false); },
    [=](atoms::publish, append_request& req) { return submit(self, req, true); },
    [=](atoms::commit_done, std::uint64_t id, append_reply& rep) {
      auto it = self->state.pending.find(id);
      if (it == self->state.pending.end())
        return;
      auto& st = self->state;
      auto [w_begin, w_end] = st.waiters.equal_range(id);
      for (auto w = w_begin; w != w_end; ++w) {
        auto copy = rep;
        copy.first_seq = copy.last_seq = 0; // nothing of the waiter's was appended
        w->second.deliver(std::move(copy));
      }
      st.waiters.erase(id);
      if (!rep.ok) {
        // A write error (submit() checked every record against the journal's limits, so the
        // committer refuses only what it could not write: io_error, no_space, stopped).
        // Whatever was pending may be gone: fall back to what the journal really holds.
        if (rep.error_code == "record_too_large" || rep.error_code == "invalid_argument")
          log::error(component, "the journal refused a batch that passed the record checks (a bug; handled as a "
                                "write error): ", rep.error);
        st.submitted_high_water.clear();
        st.publishers->on_append_failed();
        log::warn(component, "append rejected: ", rep.error_code, ": ", rep.error);
        // A held record whose original is not safe yet may have lost it with this batch: refused
        // too (a refused seq is never resent, so nothing is acked that may not be stored).
        refuse_unsafe_held(st, rep);
        if (it->second.publish) {
          it->second.reply = std::move(rep);
          answer_publish(st, it);
        } else {
          it->second.promise.deliver(std::move(rep));
          st.pending.erase(it);
        }
        return;
      }
      auto durable = rep.durable_seq;
      it->second.committed = true;
      for (const auto& [publisher, seq] : it->second.firsts)
        st.publishers->note_local(publisher, seq); // durable: this incarnation holds it
      for (const auto& [publisher, seq] : it->second.marks) {
        st.publishers->on_durable(publisher, seq);
        if (!it->second.publish)
          st.publishers->on_safe(publisher, seq); // replicated: its sender holds it durably too
      }
      if (it->second.publish) {
        // Persisted acks go out in seq order once every sync destination holds the batch.
        auto last = rep.last_seq;
        it->second.reply = std::move(rep);
        if (!st.acks->add(last, id, it->second.needs)) {
          // Cannot happen: every entry holds an admission slot, so pending() < max_pending here
          // (ack_tracker contract). Never leave a publish unanswered (defect 3): refuse it.
          log::error(component, "ack tracker refused publish ", last, " (", st.acks->pending(), " pending of ",
                     st.acks->max_pending(), "); refused with queue_full");
          it->second.reply = {};
          it->second.reply.error_code = "queue_full";
          it->second.reply.error = "too many publishes wait for their persisted ack";
          answer_publish(st, it);
        }
      } else {
        it->second.promise.deliver(std::move(rep));
        st.pending.erase(it);
      }
      st.acks->on_local_durable(durable);
      release_persisted(st); // also releases held publishes whose originals became safe
      if (durable > st.notified_durable) {
        st.notified_durable = durable;
        auto bytes = st.rt->committer().stats().bytes;
        for (const auto& l : st.durable_listeners)
          caf::anon_send(l, atoms::durable::value, durable, bytes);
      }
    },
    [=](atoms::dest_ack, const std::string& destination, std::uint64_t seq) {
      auto ack = self->state.rt->log().acknowledge(destination, seq);
      if (!ack.ok())
        log::warn(component, "position of destination ", destination, " not recorded: ", ack.to_string());
      auto& st = self->state;
      if (auto it = st.destination_index.find(destination); it != st.destination_index.end()) {
        st.acks->on_destination_acked(it->second, seq);
        release_persisted(st);
      }
    },
    [=](atoms::subscribe, caf::actor listener) {
      caf::anon_send(listener, atoms::durable::value, self->state.rt->log().durable_seq(),
                     self->state.rt->committer().stats().bytes);
      self->monitor(listener); // dropped from the list when it terminates (subscriptions come and go)
      self->state.durable_listeners.push_back(std::move(listener));
    },
    [=](atoms::inbound_pos, const std::string& peer) -> std::uint64_t {
      auto& st = self->state;
      auto it = st.inbound.find(peer);
      if (it == st.inbound.end() || !st.inbound_checked.count(peer)) {
        // First connection of this peer since startup: the persisted value may be stale (it is
        // written lazily). Records the peer originated carry its own seq as origin_seq, and the
        // peer sends in seq order, so holding its record X durably means holding everything it
        // sent before X: the resume point is at least highest_origin_seq(peer). At this point the
        // journal holds only recovered (durable) records of this peer.
        st.inbound_checked.insert(peer);
        auto from_journal = st.rt->log().highest_origin_seq(peer);
        auto& v = st.inbound[peer];
        if (from_journal > v) {
          v = from_journal;
          st.inbound_dirty = true;
        }
        const auto held = v;
        if (held == 0) { // nothing held from it: no entry for a name anyone can say (bounded state)
          st.inbound.erase(peer);
          st.inbound_checked.erase(peer);
        }
        return held;
      }
      return it->second;
    },
    [=](atoms::instance_group, const std::string& instance, const std::string& group) {
      remember_group(self->state, instance, group);
    },
    [=](atoms::instance_group) -> std::string { return nlohmann::json(self->state.groups).dump(); },
    [=](atoms::inbound_pos, const std::string& peer, std::uint64_t seq) {
      if (seq == 0)
        return; // nothing held: no entry (see above)
      auto& v = self->state.inbound[peer];
      if (seq > v) {
        v = seq;
        self->state.inbound_dirty = true;
      }
    },
    [=](atoms::status) -> std::string { return status_json(self->state); },
    [=](atoms::logon, const std::string& publisher) -> std::uint64_t {
      return self->state.publishers->logon_mark(publisher);
    },
    [=](atoms::watch_persisted, caf::actor listener) {
      caf::anon_send(listener, atoms::persisted::value, self->state.notified_bound);
      self->monitor(listener);
      self->state.bound_listeners.push_back(std::move(listener));
    },
    [=](atoms::retention) {
      if (test_crash)
        throw std::runtime_error("test hook TANDEM_TEST_CRASH_ACTOR=journal");
      // Blocking (fsync of the positions file, unlink of segments): fine here, this actor is detached.
      auto removed = self->state.rt->log().enforce_retention();
      if (!removed)
        log::warn(component, "retention: ", removed.error().to_string());
      else if (*removed > 0) {
        self->state.removed_segments += *removed;
        log::info(component, "retention removed ", *removed, " segment(s) every destination has");
      }
      save_inbound(self->state);
      arm_timer(self->state.options.timers, self->state.options.retention_interval, self->address(),
                caf::make_message(atoms::retention::value));
    },
  };
}

} // namespace

journal_actor spawn_journal_actor(caf::actor_system& sys, std::shared_ptr<journal_runtime> rt,
                                  journal::recovery_report recovery, journal_actor_options options) {
  return sys.spawn<caf::detached>(journal_behavior, std::move(rt), std::move(recovery), options);
}

} // namespace tandem
