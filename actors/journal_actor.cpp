#include "actors/journal_actor.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include "actors/instrumented_actor.hpp"
#include "actors/sync_answers.hpp"
#include <nlohmann/json.hpp>

#include "actors/fatal_exit.hpp"
#include "actors/log.hpp"
#include "actors/logic/inbound_view.hpp"
#include "actors/logic/journal_core.hpp"
#include "journal/hop_trace.hpp"
#include "journal/record_codec.hpp"
#include "actors/retention_worker.hpp"
#include "actors/timer_relay.hpp"

namespace tandem {

namespace {

constexpr std::string_view component = "journal";

// The journal as the core sees it: in-memory figures of journal::journal, no I/O.
class runtime_facts final : public logic::journal_facts {
public:
  explicit runtime_facts(journal::journal& j) : j_(j) {}
  const std::string& instance_name() const override { return j_.instance_name(); }
  std::uint64_t base_seq() const override { return j_.base_seq(); }
  std::uint64_t durable_seq() const override { return j_.durable_seq(); }
  std::uint64_t highest_origin_seq(std::string_view origin) const override { return j_.highest_origin_seq(origin); }
  std::uint64_t highest_earlier_own_seq() const override { return j_.highest_earlier_own_seq(); }
  std::uint64_t acknowledged(const std::string& destination) const override { return j_.acknowledged(destination); }

private:
  journal::journal& j_;
};

struct journal_state {
  std::shared_ptr<journal_runtime> rt; // first: outlives facts and core
  journal::recovery_report recovery;
  journal_actor_options options;
  std::optional<runtime_facts> facts;
  std::optional<logic::journal_core> core; // every publish/append decision (logic/journal_core.hpp)
  std::optional<logic::inbound_view> inbound_view; // per origin: held, received, via (/status "inbound")
  // Who delivered each append request not answered yet, by token (publishes: none, i.e. local).
  std::unordered_map<std::uint64_t, logic::inbound_via> vias;
  // Appends whose requester asked to hear of their durability from the committer thread
  // (append_request::durable_notice), by token: the requester and its id.
  std::unordered_map<std::uint64_t, std::pair<caf::actor, std::uint64_t>> durable_notices;
  // Publishes likewise, by token: answered from the committer thread when the core says the commit
  // alone answers them (journal_ready::append::ack_when_durable).
  std::unordered_map<std::uint64_t, std::pair<caf::actor, std::uint64_t>> publish_notices;
  // Bumped at every destination change (dest_config): a publish answered from the committer
  // thread must not be answered so when a destination changed after the core's decision (it may
  // have become a sync destination the publish now waits for).
  std::shared_ptr<std::atomic<std::uint64_t>> destinations_epoch = std::make_shared<std::atomic<std::uint64_t>>(0);
  // The publishes registered in the runtime's sync_answers, forgotten when the core's reply goes out.
  std::unordered_set<std::uint64_t> answer_marked;
  std::uint64_t next_token = 0;
  // Requests not answered yet, by the token the core knows them by.
  std::unordered_map<std::uint64_t, caf::typed_response_promise<append_reply>> promises;
  std::uint64_t removed_segments = 0;
  std::uint64_t repair_stored = 0, repair_held = 0; // anti-entropy repair records (repair_scan.hpp)
  std::vector<caf::actor> durable_listeners;
  std::map<std::string, std::uint64_t> inbound; // peer -> what we durably hold of its journal
  bool inbound_dirty = false;
  std::shared_ptr<ordered_file_writer> inbound_writer; // null: no inbound positions file
  // Runs each retention pass and writes the inbound positions file (actors/retention_worker.hpp):
  // never on this actor's thread, which sits on every publish's path.
  retention_worker_actor retention_worker;
  std::map<std::string, std::string> groups; // instance -> group, as announced (instance_groups_file)
  std::set<std::string> inbound_checked; // peers whose position was reconciled with the journal
  std::uint64_t scan_records = 0;
  std::chrono::milliseconds scan_elapsed{0};
  std::string scan_error;
  // Non-empty: the startup scan was stopped by the node's shutdown (journal::stop_scans), so the
  // marks know part of the journal only; every append and publish is refused with this reason
  // (error_code "stopped") instead of being stored on partial marks (a resend stored twice).
  std::string refusing;
  std::vector<caf::actor> bound_listeners; // watch_persisted
  std::vector<caf::actor> replicated_listeners; // watch_replicated
  bool sync_tick_armed = false; // a sync_tick is on its way (armed only while the core wants ticks)
  std::uint64_t skipped_through = 0; // the highest skipped seq logged or found at open (log_new_skips)
  static inline const char* name = "journal";
};

using journal_self = instrumented<caf::stateful_actor<journal_state, journal_actor::base>>*;

// The downgrade rules' clock (logic/sync_downgrade.hpp): unix ms, read here, never in the core.
std::uint64_t now_ms() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
}

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

// One destination's sync state, for /status and the admin actions (null for an async one).
nlohmann::ordered_json sync_state_json(const logic::journal_core& core, std::size_t i, std::uint64_t now) {
  const auto& d = core.downgrades();
  nlohmann::ordered_json j;
  j["sync_type"] = d.sync(i) ? "sync" : "async";
  j["effective_sync_type"] = d.sync(i) && !d.downgraded(i) ? "sync" : "async";
  j["downgraded_since"] = d.downgraded(i) ? nlohmann::ordered_json(d.downgraded_since_ms(i)) : nlohmann::ordered_json();
  j["downgrade_reason"] = d.downgraded(i) ? nlohmann::ordered_json(std::string{logic::to_string(d.reason(i))})
                                          : nlohmann::ordered_json();
  j["admin_hold"] = d.admin_hold(i);
  j["downgrades"] = d.downgrades(i);
  j["upgrades"] = d.upgrades(i);
  j["downgraded_seconds_total"] = static_cast<double>(d.downgraded_ms_total(i, now)) / 1000.0;
  return j;
}

std::string admin_json(const logic::journal_core& core, const std::string& destination, logic::admin_outcome outcome,
                       std::uint64_t now) {
  nlohmann::ordered_json j;
  j["destination"] = destination;
  switch (outcome) {
    case logic::admin_outcome::ok: j["outcome"] = "ok"; break;
    case logic::admin_outcome::unknown_destination: j["outcome"] = "unknown_destination"; break;
    case logic::admin_outcome::not_sync: j["outcome"] = "not_sync"; break;
  }
  if (auto i = core.downgrades().index_of(destination)) {
    const auto state = sync_state_json(core, *i, now);
    for (auto it = state.begin(); it != state.end(); ++it)
      j[it.key()] = it.value();
  }
  return j.dump();
}

// The inbound view (logic/inbound_view.hpp): one batch goes to the committer as append `id`.
void note_submitted(journal_state& st, std::uint64_t id, const std::vector<journal::record>& records) {
  auto via = st.vias.find(id);
  st.inbound_view->submitted(id, via == st.vias.end() ? logic::inbound_via{} : via->second, records);
}

void log_inbound_note(journal_state& st) {
  if (auto note = st.inbound_view->take_note())
    log::warn(component, *note);
}

// One origin of /status "inbound". The highest origin_seq comes from the journal (the duplicate
// filter's source of truth), and the via peer's resume point from the inbound positions. Fields
// about the latest delivery are null while none happened since startup.
nlohmann::ordered_json origin_json(const journal_state& st, const std::string& name, const logic::inbound_origin& o,
                                   std::uint64_t now) {
  using json = nlohmann::ordered_json;
  json e;
  e["origin"] = name;
  e["records"] = o.records;
  e["received"] = o.received;
  e["highest_origin_seq"] = st.rt->log().highest_origin_seq(name);
  const bool known = o.last_received_ms != 0, remote = known && !o.via.local();
  const auto age_ms = now > o.last_received_ms ? now - o.last_received_ms : 0;
  e["last_received_unix_ms"] = known ? json(o.last_received_ms) : json();
  e["last_received_age_s"] = known ? json(static_cast<double>(age_ms) / 1000.0) : json();
  e["via"] = remote ? json(o.via.peer) : known ? json("local") : json();
  e["via_address"] = remote ? json(o.via.address) : json();
  auto pos = remote ? st.inbound.find(o.via.peer) : st.inbound.end();
  e["via_position"] = pos != st.inbound.end() ? json(pos->second) : json();
  return e;
}

// /status "inbound" (logic/inbound_view.hpp): per origin what this node holds and who delivered it.
nlohmann::ordered_json inbound_json(const journal_state& st, std::uint64_t now) {
  const auto& v = *st.inbound_view;
  auto origins = nlohmann::ordered_json::array();
  for (const auto& [name, o] : v.origins())
    origins.push_back(origin_json(st, name, o, now));
  nlohmann::ordered_json out;
  out["origins"] = std::move(origins);
  out["totals"] = {{"origins", v.origins().size()},
                   {"records", v.total_records()},
                   {"received", v.total_received()},
                   {"untracked_records", v.untracked_records()},
                   {"max_origins", v.max_origins()}};
  return out;
}

std::string status_json(journal_state& st) {
  auto& j = st.rt->log();
  auto stats = st.rt->committer().stats();
  const auto& core = *st.core;
  nlohmann::ordered_json out;
  out["dir"] = j.dir();
  out["base_seq"] = j.base_seq(); // the journal's first-ever seq (docs/journal-format.md)
  out["first_seq"] = j.first_seq();
  out["segment_read_bytes"] = j.cursor_disk_bytes(); // read behind the tail window
  // The tail window follows its readers (journal/tail_window.hpp): at most capacity_bytes while a
  // reader is behind, floor_bytes while every reader is at the tail.
  const auto& w = j.window();
  out["tail_window"] = {{"bytes", w.bytes()},
                        {"capacity_bytes", w.capacity()},
                        {"floor_bytes", w.floor()},
                        {"readers", w.readers()},
                        {"first_seq", w.first_seq()}};
  out["durable_seq"] = j.durable_seq();
  // Seqs skipped (journal.send_before_durable: after a host crash, or a failed write or fdatasync
  // of records a sync link may have sent): never used here; [[first, last], ...].
  out["skipped"] = nlohmann::json::array();
  for (const auto& r : j.skipped())
    out["skipped"].push_back({r.first, r.last});
  std::uint64_t bytes = 0;
  auto segments = j.segments();
  for (const auto& s : segments)
    bytes += s.bytes;
  out["segments"] = segments.size();
  out["bytes"] = bytes;
  out["removed_segments"] = st.removed_segments;
  out["repair"] = {{"stored_records", st.repair_stored}, {"held_records", st.repair_held}};
  out["publishes_waiting_for_sync_destinations"] = core.acks().pending();
  out["publishes_unanswered"] = core.acks().admitted(); // the max_pending_publishes count
  // Publishes answered where their sync destinations' last ack arrived (sync_answers.hpp).
  out["persisted_from_acks"] = st.rt->answers().answered();
  out["committer"] = {{"syncs", stats.syncs},     {"syncs_here", stats.syncs_here}, {"batches", stats.batches},
                      {"records", stats.records}, {"bytes", stats.bytes},           {"rejected", stats.rejected}};
  auto holds = nlohmann::ordered_json::array();
  for (const auto& h : j.held_back())
    holds.push_back({{"destination", h.name}, {"acknowledged", h.acknowledged}, {"segments", h.segments},
                     {"bytes", h.bytes}, {"released", h.released}, {"released_from_seq", h.released_from_seq},
                     {"released_since_unix_ms", h.released_since_ns / 1'000'000}});
  out["held_back"] = holds;
  const auto ht = j.holds(); // journal.max_held_bytes (journal/retention.hpp decide_holds)
  out["held_bytes"] = ht.held_bytes;
  out["max_held_bytes"] = ht.max_held_bytes;
  out["released_destinations_total"] = ht.releases;
  out["restored_destinations_total"] = ht.restores;
  // Per destination: configured and effective sync type, downgrade state (logic/sync_downgrade.hpp).
  auto sync = nlohmann::ordered_json::object();
  const auto now = now_ms();
  for (std::size_t i = 0; i < core.downgrades().size(); ++i)
    if (!core.downgrades().removed(i)) // removed by a live reload: gone from /status
      sync[core.downgrades().name(i)] = sync_state_json(core, i, now);
  out["sync_states"] = sync;
  out["inbound"] = inbound_json(st, now);
  out["replicated_notes_pending"] = core.replicated_notes_pending();
  out["replicated_notes_untracked"] = core.replicated_notes_untracked();
  const auto& p = core.publishers();
  out["publishers"] = {{"known", p.publishers()},
                       {"max", p.max_publishers()},
                       {"evicted", p.evictions()},
                       {"duplicates_published", core.duplicates_published()},
                       {"duplicates_replicated", core.duplicates_replicated()},
                       {"held_publishes_waiting", core.held_publishes_waiting()},
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

// Carries out what the core decided (logic/journal_core.hpp, the order its header gives):
// submits the appends, delivers the replies, notifies subscribers and watchers.
void carry_out(journal_self self, logic::journal_ready r) {
  auto& st = self->state;
  bool refused = false;
  for (auto& a : r.appends) {
    const auto id = a.id;
    note_submitted(st, id, a.records);
    // The callback runs on the committer's thread, or on this one (flush below): it only posts
    // messages.
    auto handle = caf::actor_cast<caf::actor>(self);
    caf::actor notice_to, answer_to;
    std::uint64_t notice_id = 0, answer_id = 0;
    if (auto n = st.durable_notices.find(id); n != st.durable_notices.end()) {
      notice_to = n->second.first;
      notice_id = n->second.second;
    }
    const auto n = st.publish_notices.find(id);
    if (a.ack_when_durable && n != st.publish_notices.end()) {
      answer_to = n->second.first;
      answer_id = n->second.second;
    }
    auto epoch = st.destinations_epoch;
    const auto epoch_now = epoch->load(std::memory_order_acquire);
    sync_answers* answers = nullptr;
    if (!a.answer_on_acks.empty() && n != st.publish_notices.end()) {
      // Registered before the records can reach a destination: no ack for them can come sooner.
      answers = &st.rt->answers();
      answers->add(id, std::move(a.answer_on_acks), n->second.first, n->second.second);
      st.answer_marked.insert(id);
    }
    auto submitted = st.rt->committer().submit(
      std::move(a.records), [handle, id, notice_to, notice_id, answer_to, answer_id, epoch, epoch_now,
                             answers](const journal::result<journal::commit_ok>& res) {
        // The requester first (one hop less on a sync partner's ack, or on a publish's answer),
        // then the core's commit_done.
        auto rep = reply_of(res);
        if (res && notice_to) caf::anon_send(notice_to, atoms::append_durable::value, notice_id);
        if (res && answer_to && epoch->load(std::memory_order_acquire) == epoch_now)
          caf::anon_send(answer_to, atoms::publish_durable::value, answer_id, rep);
        if (answers)
          answers->committed(id, rep);
        caf::anon_send(handle, atoms::commit_done::value, id, std::move(rep));
      },
      false); // started by the flush below
    if (!submitted.ok()) {
      st.inbound_view->committed(id, false, 0);
      st.core->step(logic::journal_events::submit_refused{id, journal::to_string(submitted.code()),
                                                          submitted.message()});
      refused = true;
    }
  }
  for (const auto& t : r.sync_changes) {
    if (t.downgraded)
      log::warn(component, t.text);
    else
      log::info(component, t.text);
  }
  for (const auto& n : r.notes) {
    if (n.error)
      log::error(component, n.text);
    else
      log::warn(component, n.text);
  }
  for (auto& rep : r.replies) {
    st.vias.erase(rep.token);
    st.durable_notices.erase(rep.token);
    st.publish_notices.erase(rep.token);
    if (st.answer_marked.erase(rep.token) != 0)
      st.rt->answers().forget(rep.token);
    if (auto it = st.promises.find(rep.token); it != st.promises.end()) {
      it->second.deliver(std::move(rep.body));
      st.promises.erase(it);
    }
  }
  if (r.durable) {
    auto bytes = st.rt->committer().stats().bytes;
    for (const auto& l : st.durable_listeners)
      caf::anon_send(l, atoms::durable::value, *r.durable, bytes);
  }
  if (r.persisted_bound)
    for (const auto& l : st.bound_listeners)
      caf::anon_send(l, atoms::persisted::value, *r.persisted_bound);
  for (const auto& n : r.replicated)
    for (const auto& l : st.replicated_listeners)
      caf::anon_send(l, atoms::replicated::value, n.publisher, n.up_to_publisher_seq);
  if (refused) // the refusals' answers
    carry_out(self, st.core->ready());
  if (!st.sync_tick_armed && st.core->wants_ticks()) {
    st.sync_tick_armed = true;
    arm_timer(st.options.timers, st.options.sync_tick_interval, self->address(),
              caf::make_message(atoms::sync_tick::value));
  }
  // With nothing else waiting for this actor, the appends are written and synced on its own
  // thread (it is detached; blocking here holds up no other actor) when the committer has nothing
  // in hand: one wake-up less on the path of a publish or a replicated batch at low load. With
  // messages waiting, the committer's thread takes them, so that this actor handles the next ones
  // while the fdatasync runs (group_committer.hpp).
  if (!r.appends.empty())
    st.rt->committer().flush(st.options.commit_here && self->mailbox().empty());
}

caf::typed_response_promise<append_reply> request(journal_self self, append_request& req, bool publish) {
  auto& st = self->state;
  hop_trace::mark(hop_trace::point::journal_in,
                  !publish && req.records && !req.records->empty() ? req.records->back().origin_seq : 0);
  // Before the promise: making it moves the sender out of the current message.
  auto notice_to = req.durable_notice ? caf::actor_cast<caf::actor>(self->current_sender()) : caf::actor{};
  auto rp = self->make_response_promise<append_reply>();
  if (!st.refusing.empty()) {
    append_reply no;
    no.durable_seq = st.rt->log().durable_seq();
    no.error_code = journal::to_string(journal::errc::stopped);
    no.error = st.refusing;
    rp.deliver(std::move(no));
    return rp;
  }
  const auto token = st.next_token++;
  st.promises.emplace(token, rp);
  if (notice_to)
    (publish ? st.publish_notices : st.durable_notices)
      .emplace(token, std::make_pair(std::move(notice_to), *req.durable_notice));
  if (!publish) // a publish has no entry: delivered locally
    st.vias.emplace(token, logic::inbound_via{req.via_peer.empty() ? std::string{"unknown"} : std::move(req.via_peer),
                                              std::move(req.via_address)});
  std::vector<journal::record> records;
  if (req.records)
    records = std::move(*req.records);
  if (publish)
    st.core->step(logic::journal_events::publish{token, std::move(records)});
  else
    st.core->step(logic::journal_events::append{token, std::move(records), req.repair});
  carry_out(self, st.core->ready());
  return rp;
}

// A failed write or fdatasync after records were readable (journal.send_before_durable) makes the
// journal skip their seqs (docs/journal-format.md, "Seq reservation"): said once per range, with
// the range, beside /status "skipped". (The one at open is logged by tandemd's startup.)
void log_new_skips(journal_state& st) {
  for (const auto& r : st.rt->log().skipped()) { // ascending; a new range may extend the last one
    if (r.last <= st.skipped_through)
      continue;
    log::error(component, "seqs ", std::max(r.first, st.skipped_through + 1), "..", r.last,
               " skipped after a failed write or fdatasync: records in them may have been sent to a sync "
               "destination before the failure, so these seqs are never used for another record (a partner keeps "
               "what it received); appends go on at ", r.last + 1);
    st.skipped_through = r.last;
  }
}

void step(journal_self self, logic::journal_event event) {
  self->state.core->step(std::move(event));
  carry_out(self, self->state.core->ready());
}

// Rebuilds the publisher marks from the journal (startup, on this detached actor's thread).
void load_publisher_marks(journal_state& st) {
  auto& journal = st.rt->log();
  const auto& me = journal.instance_name();
  auto started = std::chrono::steady_clock::now();
  auto scanned = journal.scan_durable([&](std::string_view rec) {
    ++st.scan_records;
    const auto origin = journal::peek_origin(rec);
    const auto origin_seq = journal::peek_origin_seq(rec);
    if (origin == me && origin_seq < journal.base_seq())
      journal.note_earlier_own_seq(origin_seq); // refilled (docs/protocol.md)
    st.inbound_view->load(origin);
    st.core->load(origin, origin_seq, journal::peek_publisher(rec), journal::peek_publisher_seq(rec),
                  journal::peek_seq(rec));
  });
  st.scan_elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (scanned.code() == journal::errc::stopped) {
    st.scan_error = scanned.to_string();
    st.refusing = "the node is shutting down (its startup scan of publisher marks was stopped)";
    log::info(component, "publisher marks: the startup scan stopped for the node's shutdown after ", st.scan_records,
              " record(s) in ", st.scan_elapsed.count(), " ms; appends are refused until the node exits");
    return;
  }
  if (!scanned.ok()) {
    st.scan_error = scanned.to_string();
    log::error(component, "publisher marks rebuilt from part of the journal only (resends of the rest would be "
                          "stored again): ", st.scan_error);
  }
  log::info(component, "publisher marks: ", st.core->publishers().publishers(), " publisher(s) from ",
            st.scan_records, " record(s) in ", st.scan_elapsed.count(), " ms");
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

// The inbound positions' text for the next write, with its version (ordered_file_writer); version
// 0 when nothing changed since the last one taken (or no file is configured). Taking it clears
// the dirty mark: a failed write sets it again.
std::pair<std::uint64_t, std::string> take_inbound(journal_state& st) {
  if (!st.inbound_dirty || !st.inbound_writer)
    return {0, {}};
  st.inbound_dirty = false;
  return {st.inbound_writer->next_version(), nlohmann::json(st.inbound).dump()};
}

// At exit, on this thread: the last text, written unless the retention worker wrote a later one.
void save_inbound(journal_state& st) {
  auto [version, text] = take_inbound(st);
  if (version == 0)
    return;
  auto ok = st.inbound_writer->write(version, text);
  if (!ok.ok()) {
    st.inbound_dirty = true;
    log::warn(component, "cannot persist inbound positions: ", ok.to_string());
  }
}

// What this node durably holds of `peer`'s journal: its resume point.
std::uint64_t inbound_position(journal_state& st, const std::string& peer) {
  auto it = st.inbound.find(peer);
  if (it != st.inbound.end() && st.inbound_checked.count(peer))
    return it->second;
  // First connection of this peer since startup: the persisted value may be stale (it is written
  // lazily). Records the peer originated carry its own seq as origin_seq, and the peer sends in
  // seq order, so holding its record X durably means holding everything it sent before X: the
  // resume point is at least highest_origin_seq(peer). At this point the journal holds only
  // recovered (durable) records of this peer.
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

void update_inbound_position(journal_state& st, const std::string& peer, std::uint64_t seq) {
  if (seq == 0)
    return; // nothing held: no entry (see inbound_position)
  auto& v = st.inbound[peer];
  if (seq > v) {
    v = seq;
    st.inbound_dirty = true;
  }
}

// A retention pass, handed to the retention worker (its files' fsyncs and the removals' unlinks
// block; this actor must not: actors/retention_worker.hpp). The next one is armed from its answer.
void run_retention(journal_self self) {
  auto& st = self->state;
  auto taken = take_inbound(st);
  const std::uint64_t version = taken.first;
  auto rearm = [self] {
    arm_timer(self->state.options.timers, self->state.options.retention_interval, self->address(),
              caf::make_message(atoms::retention::value));
  };
  self->request(st.retention_worker, caf::infinite, atoms::retention::value, version, std::move(taken.second))
    .then(
      [self, version, rearm](std::uint64_t removed, bool inbound_written) {
        self->state.removed_segments += removed;
        if (version != 0 && !inbound_written)
          self->state.inbound_dirty = true; // the next pass writes the positions again
        rearm();
      },
      [self, version, rearm](caf::error& err) {
        log::warn(component, "retention pass did not answer: ", self->system().render(err));
        if (version != 0)
          self->state.inbound_dirty = true;
        rearm();
      });
}

void record_destination_ack(journal_self self, const std::string& destination, std::uint64_t seq) {
  auto ack = self->state.rt->log().acknowledge(destination, seq);
  if (!ack.ok())
    log::warn(component, "position of destination ", destination, " not recorded: ", ack.to_string());
  step(self, logic::journal_events::destination_ack{destination, seq, now_ms()});
}

// A live reload's destination (issue 21): the retention holds first (an added one holds from
// position 0, i.e. the oldest record held; a removed one stops holding), then the ack rule.
bool reconfigure_destination(journal_self self, const std::string& name, bool present,
                             logic::destination_settings settings) {
  auto& st = self->state;
  if (!present) {
    st.rt->log().remove_destination(name);
    st.core->remove_destination(name);
  } else {
    if (auto added = st.rt->log().add_destination(name); !added.ok())
      log::warn(component, "destination ", name, ": its retention hold was not added: ", added.to_string());
    st.core->change_destination(settings, now_ms()); // adds it when unknown
  }
  st.rt->answers().set_destinations(st.core->destination_names()); // acks for others are ignored
  carry_out(self, st.core->ready());
  return true;
}

void init_state(journal_self self, std::shared_ptr<journal_runtime> rt, journal::recovery_report recovery,
                const journal_actor_options& options) {
  auto& st = self->state;
  st.rt = std::move(rt);
  st.recovery = std::move(recovery);
  if (const auto ranges = st.rt->log().skipped(); !ranges.empty())
    st.skipped_through = ranges.back().last; // logged at startup
  st.options = options;
  st.facts.emplace(st.rt->log());
  st.inbound_view.emplace(st.rt->log().instance_name());
  st.core.emplace(*st.facts, logic::journal_core_options{options.destinations, options.destination_topics,
                                                         options.max_pending_publishes, options.max_publishers,
                                                         options.downgrade_after_ms, now_ms()});
  st.rt->answers().set_destinations(st.core->destination_names());
  load_publisher_marks(st);
  log_inbound_note(st);
  load_inbound(st);
  load_groups(st);
  if (!st.options.inbound_positions_file.empty())
    st.inbound_writer = std::make_shared<ordered_file_writer>(st.options.inbound_positions_file);
  st.retention_worker = spawn_retention_worker(self->system(), st.rt, st.inbound_writer);
  self->link_to(st.retention_worker); // it ends with this actor (after a pass in progress)
  // Timers go through a relay (timer_relay.hpp) so a pending one never keeps this detached actor
  // alive: the actor system waits for every detached actor to be destroyed.
  if (!st.options.timers) {
    st.options.timers = spawn_timer_relay(self->system());
    self->link_to(st.options.timers);
  }
  self->set_down_handler([=](caf::down_msg& down) {
    auto gone = [&](const caf::actor& a) { return a.address() == down.source; };
    auto& ls = self->state.durable_listeners;
    ls.erase(std::remove_if(ls.begin(), ls.end(), gone), ls.end());
    auto& bs = self->state.bound_listeners;
    bs.erase(std::remove_if(bs.begin(), bs.end(), gone), bs.end());
    auto& rs = self->state.replicated_listeners;
    rs.erase(std::remove_if(rs.begin(), rs.end(), gone), rs.end());
  });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    save_inbound(self->state);
    // The link ends the worker with any other reason; a normal exit would not (CAF ignores it).
    self->send_exit(self->state.retention_worker, caf::exit_reason::user_shutdown);
    self->quit(msg.reason);
  });
}

journal_actor::behavior_type journal_behavior(journal_self self, std::shared_ptr<journal_runtime> rt,
                                              journal::recovery_report recovery, journal_actor_options options) {
  self->bind_probe("journal");
  fail_fast_on_exception(self, "journal"); // an exception here leaves no node worth keeping alive
  const bool test_crash = test_crash_requested("journal"); // false unless built with TANDEM_TEST_HOOKS
  init_state(self, std::move(rt), std::move(recovery), options);
  arm_timer(self->state.options.timers, options.retention_interval, self->address(),
            caf::make_message(atoms::retention::value));
  return {
    [=](atoms::append, append_request& req) { return request(self, req, false); },
    [=](atoms::repaired, std::uint64_t stored, std::uint64_t held) {
      self->state.repair_stored += stored;
      self->state.repair_held += held;
    },
    [=](atoms::publish, append_request& req) { return request(self, req, true); },
    [=](atoms::commit_done, std::uint64_t id, append_reply& rep) {
      hop_trace::mark(hop_trace::point::commit_done, rep.ok ? rep.first_seq : 0);
      if (!rep.ok)
        log_new_skips(self->state);
      const auto now = now_ms();
      self->state.inbound_view->committed(id, rep.ok, now);
      log_inbound_note(self->state);
      step(self, logic::journal_events::commit_done{id, std::move(rep), now});
    },
    [=](atoms::dest_ack, const std::string& destination, std::uint64_t seq) {
      hop_trace::mark(hop_trace::point::dest_ack, seq);
      record_destination_ack(self, destination, seq);
    },
    [=](atoms::subscribe, caf::actor listener) {
      caf::anon_send(listener, atoms::durable::value, self->state.rt->log().durable_seq(),
                     self->state.rt->committer().stats().bytes);
      self->monitor(listener); // dropped from the list when it terminates (subscriptions come and go)
      self->state.durable_listeners.push_back(std::move(listener));
    },
    [=](atoms::inbound_pos, const std::string& peer) -> std::uint64_t {
      return inbound_position(self->state, peer);
    },
    [=](atoms::instance_group, const std::string& instance, const std::string& group) {
      remember_group(self->state, instance, group);
    },
    [=](atoms::instance_group) -> std::string { return nlohmann::json(self->state.groups).dump(); },
    [=](atoms::inbound_held, const std::string& peer, std::uint64_t seq) {
      update_inbound_position(self->state, peer, seq);
    },
    [=](atoms::status) -> std::string { return status_json(self->state); },
    [=](atoms::logon, const std::string& publisher) -> caf::result<std::uint64_t, std::uint64_t> {
      auto& core = *self->state.core;
      const auto complete = core.logon_complete(publisher); // before logon(): both read the same state
      return {core.logon(publisher), complete};
    },
    [=](atoms::watch_persisted, caf::actor listener) {
      caf::anon_send(listener, atoms::persisted::value, self->state.core->notified_bound());
      self->monitor(listener);
      self->state.bound_listeners.push_back(std::move(listener));
    },
    [=](atoms::watch_replicated, caf::actor listener) {
      self->monitor(listener);
      self->state.replicated_listeners.push_back(std::move(listener));
    },
    [=](atoms::sync_admin, const std::string& destination, bool downgrade) -> std::string {
      const auto now = now_ms();
      const auto outcome = self->state.core->admin(destination, downgrade, now);
      carry_out(self, self->state.core->ready());
      return admin_json(*self->state.core, destination, outcome, now);
    },
    [=](atoms::dest_conn, const std::string& destination, bool connected) {
      step(self, logic::journal_events::connection{destination, connected, now_ms()});
    },
    [=](atoms::sync_tick) {
      self->state.sync_tick_armed = false;
      step(self, logic::journal_events::tick{now_ms()});
    },
    [=](atoms::waiting_on) -> std::vector<std::string> { return self->state.core->waiting_on(); },
    [=](atoms::dest_config, const std::string& name, bool present, bool sync, const std::string& topics,
        std::uint64_t downgrade_after_ms) {
      // Before the change: a publish the committer has not answered yet is answered by the core.
      self->state.destinations_epoch->fetch_add(1, std::memory_order_acq_rel);
      self->state.rt->answers().epoch().fetch_add(1, std::memory_order_acq_rel);
      return reconfigure_destination(self, name, present, {name, sync, topics, downgrade_after_ms});
    },
    [=](atoms::retention) {
      if (test_crash)
        throw std::runtime_error("test hook TANDEM_TEST_CRASH_ACTOR=journal");
      run_retention(self);
    },
  };
}

} // namespace

journal_actor spawn_journal_actor(caf::actor_system& sys, std::shared_ptr<journal_runtime> rt,
                                  journal::recovery_report recovery, journal_actor_options options) {
  return sys.spawn<caf::detached>(journal_behavior, std::move(rt), std::move(recovery), options);
}

} // namespace tandem
