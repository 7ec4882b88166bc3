#include "actors/logic/journal_core.hpp"

#include <algorithm>

#include "actors/logic/record_admission.hpp"

namespace tandem::logic {

namespace {

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

std::vector<bool> sync_flags(const journal_core_options& o) {
  std::vector<bool> out;
  for (const auto& d : o.destinations)
    out.push_back(d.second);
  return out;
}

std::vector<downgrade_destination> downgrade_config(const journal_core_options& o) {
  std::vector<downgrade_destination> out;
  for (std::size_t i = 0; i < o.destinations.size(); ++i)
    out.push_back({o.destinations[i].first, o.destinations[i].second,
                   i < o.downgrade_after_ms.size() ? o.downgrade_after_ms[i] : 0});
  return out;
}

append_reply error_reply(std::string code, std::string reason) {
  append_reply rep;
  rep.error_code = std::move(code);
  rep.error = std::move(reason);
  return rep;
}

// Moves the held records at positions `unsafe` (ascending, indexes into `held`) to `refused`.
void refuse_held(std::vector<std::uint32_t>& held, std::vector<refusal>& refused,
                 const std::vector<std::size_t>& unsafe, const append_reply& error) {
  if (unsafe.empty())
    return;
  std::vector<std::uint32_t> kept;
  std::size_t next = 0;
  for (std::size_t k = 0; k < held.size(); ++k) {
    if (next < unsafe.size() && unsafe[next] == k) {
      ++next;
      refused.push_back({held[k], error.error_code, "the original may be lost: " + error.error});
    } else {
      kept.push_back(held[k]);
    }
  }
  held = std::move(kept);
  std::sort(refused.begin(), refused.end(), [](const refusal& a, const refusal& b) { return a.index < b.index; });
}

// Where destination `name` stands at startup: its persisted position, but never below the journal
// base. No record below the base exists in this journal (docs/journal-format.md), so a destination
// new to it (position 0) is not waiting for anything: without the floor a fresh node's sync
// destination counted as waiting for seq 1 since startup and was downgraded (ack_timeout) after
// downgrade_after_ms with no record published.
std::uint64_t start_position(const journal_facts& journal, const std::string& name) {
  const auto floor = journal.base_seq() > 0 ? journal.base_seq() - 1 : 0;
  return std::max(journal.acknowledged(name), floor);
}

} // namespace

journal_core::journal_core(const journal_facts& journal, journal_core_options options)
    : journal_(journal), options_(std::move(options)), acks_(sync_flags(options_), options_.max_pending_publishes),
      publishers_(options_.max_publishers),
      origins_(journal.instance_name(), [&journal](std::string_view o) { return journal.highest_origin_seq(o); }),
      downgrades_(downgrade_config(options_), journal.durable_seq(), options_.start_ms) {
  // Records of ours from before our journal base: a partner refilling what we lost.
  origins_.accept_earlier_own(journal.base_seq(), [&journal] { return journal.highest_earlier_own_seq(); });
  const auto& dests = options_.destinations;
  options_.destination_topics.resize(dests.size(), ".*");
  options_.downgrade_after_ms.resize(dests.size(), 0);
  for (std::size_t i = 0; i < dests.size(); ++i) {
    destination_index_[dests[i].first] = i;
    const auto position = start_position(journal, dests[i].first); // one read of the persisted position
    acks_.on_destination_acked(i, position);
    downgrades_.on_position(i, position, options_.start_ms);
  }
  rebuild_routes();
  acks_.on_local_durable(journal.durable_seq());
  notified_durable_ = journal.durable_seq();
  notified_bound_ = release_bound();
}

void journal_core::load(std::string_view origin, std::uint64_t origin_seq, std::string_view publisher,
                        std::uint64_t publisher_seq, std::uint64_t seq) {
  // Replicated records are held by their sender too; local ones are safe once the ack rule
  // released them.
  const bool own = origin == journal_.instance_name();
  publishers_.load(publisher, publisher_seq, seq, !own || seq <= notified_bound_);
  if (own && origin_seq >= journal_.base_seq())
    publishers_.note_local(publisher, publisher_seq);
}

void journal_core::step(journal_event event) {
  std::visit([this](auto& e) { on(e); }, event);
}

journal_ready journal_core::ready() {
  journal_ready r = std::move(out_);
  out_ = {};
  return r;
}

std::uint64_t journal_core::release_bound() const {
  auto bound = acks_.local_durable();
  for (std::size_t i = 0; i < options_.destinations.size(); ++i)
    if (options_.destinations[i].second && !downgrades_.downgraded(i))
      bound = std::min(bound, acks_.destination_position(i));
  return bound;
}

void journal_core::refuse(std::uint64_t token, std::string code, std::string reason) {
  out_.replies.push_back({token, error_reply(std::move(code), std::move(reason))});
}

void journal_core::on(journal_events::publish& e) {
  if (e.records.empty())
    return refuse(e.token, "invalid_argument", "empty batch");
  // One count (ack_tracker contract): a slot per publish from here until answer_publish(), so
  // the tracker can never refuse what this let through (defect 3).
  if (!acks_.try_admit())
    return refuse(e.token, "queue_full", "too many publishes wait for their persisted ack");
  const std::string& me = journal_.instance_name();
  pending_request p;
  // Bad input first (defect 6): a record the journal cannot store is refused on its own before
  // it touches a mark, and never reaches the committer, whose errors are write errors.
  // Then the duplicate rule: a publish at or below its publisher's accepted mark is already held.
  auto& recs = e.records;
  std::size_t out = 0;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    if (auto bad = check_record_limits(recs[i], recs[i].origin.empty() ? me : recs[i].origin)) {
      p.refused.push_back({static_cast<std::uint32_t>(i), std::move(bad->code), std::move(bad->reason)});
      continue;
    }
    if (publishers_.admit(recs[i].publisher, recs[i].publisher_seq)) {
      publishers_.note_local_submitted(recs[i].publisher, recs[i].publisher_seq);
      if (out != i)
        recs[out] = std::move(recs[i]);
      ++out;
      continue;
    }
    p.held.push_back(static_cast<std::uint32_t>(i));
    p.originals.push_back({std::move(recs[i].publisher), recs[i].publisher_seq});
  }
  for (const auto& o : p.originals) {
    auto m = std::find_if(p.held_marks.begin(), p.held_marks.end(), [&](const auto& x) { return x.first == o.publisher; });
    if (m == p.held_marks.end())
      p.held_marks.emplace_back(o.publisher, o.publisher_seq);
    else
      m->second = std::max(m->second, o.publisher_seq);
  }
  recs.resize(out);
  duplicates_published_ += p.held.size();
  if (!p.refused.empty())
    note(false, "publish: " + std::to_string(p.refused.size()) + " record(s) refused, first: " + p.refused.front().code +
                  ": " + p.refused.front().reason);
  if (!recs.empty())
    return submit(e.token, true, std::move(recs), std::move(p));
  // Nothing to store: answer once every original is safe (maybe at once). Earlier batches of the
  // same connection may still wait; the client listener keeps the acks in publish order.
  p.publish = true;
  p.committed = true;
  p.reply.ok = true;
  auto originals = std::move(p.originals);
  p.originals.clear();
  pending_.emplace(e.token, std::move(p));
  dup_waits_.wait(e.token, std::move(originals));
  release_held_publishes();
}

void journal_core::on(journal_events::append& e) {
  if (e.records.empty())
    return refuse(e.token, "invalid_argument", "empty batch");
  // A replicated record the journal cannot store: the peer claims something it cannot have.
  // Refused whole, with its own code, before anything is marked; the caller closes that
  // connection. Not a write error: nothing else is touched.
  const std::string& me = journal_.instance_name();
  for (std::size_t i = 0; i < e.records.size(); ++i) {
    const auto& r = e.records[i];
    if (auto bad = check_record_limits(r, r.origin.empty() ? me : r.origin)) {
      note(false, "replicated batch refused: record " + std::to_string(i) + " (origin " + r.origin.substr(0, 64) +
                    ", origin_seq " + std::to_string(r.origin_seq) + "): " + bad->code + ": " + bad->reason);
      return refuse(e.token, std::string{invalid_record_code},
                    "record " + std::to_string(i) + ": " + bad->code + ": " + bad->reason);
    }
  }
  if (e.repair)
    note_repaired(e.records);
  if (e.repair || drop_replicated_duplicates(e.records))
    return submit(e.token, false, std::move(e.records), {});
  // Everything is held or pending: answer when the newest pending append completes (appends
  // complete in order), so the caller never acks a copy that is not durable yet. (A publish stays
  // pending after its commit, waiting for sync destinations: waiting for it then would wait for
  // its commit_done, which has passed.)
  if (last_submitted_)
    if (auto last = pending_.find(*last_submitted_); last != pending_.end() && !last->second.committed) {
      waiters_.emplace(*last_submitted_, e.token);
      return;
    }
  append_reply rep;
  rep.ok = true;
  rep.durable_seq = journal_.durable_seq();
  out_.replies.push_back({e.token, std::move(rep)});
}

// Repaired records pass the origin filter's high-water whatever it says: a normal copy that
// arrives later is then a duplicate.
void journal_core::note_repaired(const std::vector<journal::record>& recs) {
  std::vector<inbound_record> in;
  for (const auto& r : recs)
    if (!r.origin.empty())
      in.push_back({0, r.origin, r.origin_seq});
  origins_.classify(in);
}

// Replicated records: drops those already held or already on their way to the journal (the
// origin filter first, then the publisher marks). True when some are left to store. (A repair
// skips both: its records lie below both high-water marks, and the repair scan checked each
// against the journal, by origin and by publisher: actors/repair_scan.cpp.)
bool journal_core::drop_replicated_duplicates(std::vector<journal::record>& recs) {
  std::vector<inbound_record> in;
  std::vector<std::size_t> at; // index in recs of in[k]
  for (std::size_t i = 0; i < recs.size(); ++i)
    if (!recs[i].origin.empty()) { // empty: published here, the journal assigns origin and origin_seq
      in.push_back({0, recs[i].origin, recs[i].origin_seq});
      at.push_back(i);
    }
  const auto verdicts = origins_.classify(in);
  std::vector<bool> drop(recs.size(), false);
  for (std::size_t k = 0; k < verdicts.size(); ++k) {
    const auto& r = recs[at[k]];
    if (verdicts[k] == verdict::duplicate) {
      drop[at[k]] = true;
      continue;
    }
    // New by origin, but maybe already held by publisher (e.g. a publisher resent it to this node
    // after failing over): received all the same, not stored again. A refilled record of ours:
    // the publisher may have published newer messages to this node already (its mark is above
    // this seq), so the mark cannot tell; first_local can (publisher_dedup.hpp): held iff the
    // publisher's first direct publish to this incarnation is at or below it.
    bool held = false;
    if (r.origin == journal_.instance_name()) {
      const auto first = publishers_.first_local(r.publisher);
      held = r.publisher_seq != 0 && first != 0 && r.publisher_seq >= first;
      if (!held)
        publishers_.admit(r.publisher, r.publisher_seq); // raises the mark when it is the highest
    } else {
      held = !publishers_.admit(r.publisher, r.publisher_seq);
    }
    if (held) {
      ++duplicates_replicated_;
      drop[at[k]] = true;
    }
  }
  std::size_t out = 0;
  for (std::size_t i = 0; i < recs.size(); ++i)
    if (!drop[i]) {
      if (out != i)
        recs[out] = std::move(recs[i]);
      ++out;
    }
  recs.resize(out);
  return out > 0;
}

void journal_core::submit(std::uint64_t token, bool publish, std::vector<journal::record> records,
                          pending_request p) {
  p.publish = publish;
  p.marks = marks_of(records);
  if (publish) {
    p.needs = needed_destinations(records);
    p.firsts = marks_of(records, true);
  } else {
    for (const auto& r : records)
      if (!r.origin.empty() && std::find(p.origins.begin(), p.origins.end(), r.origin) == p.origins.end())
        p.origins.push_back(r.origin);
  }
  // Answered at its commit with exactly the commit's outcome (journal_ready::append): nothing
  // else can hold it or change its reply. (A sync destination configured, even downgraded, can:
  // the reply names what lacks it, not_on.)
  const bool ack_when_durable = publish && p.held.empty() && p.refused.empty() && acks_.admitted() == 1 &&
                                std::none_of(options_.destinations.begin(), options_.destinations.end(),
                                             [](const auto& d) { return d.second; });
  std::vector<std::string> answer_on_acks;
  if (publish && !ack_when_durable && p.held.empty() && p.refused.empty() && acks_.admitted() == 1) {
    bool any_downgraded = false;
    for (std::size_t i = 0; i < options_.destinations.size(); ++i) {
      if (!options_.destinations[i].second)
        continue;
      any_downgraded = any_downgraded || downgrades_.downgraded(i);
      if (p.needs.empty() || (i < p.needs.size() && p.needs[i]))
        answer_on_acks.push_back(options_.destinations[i].first);
    }
    if (any_downgraded) // its reply would name what lacks it (not_on): the core answers it
      answer_on_acks.clear();
  }
  p.previous_submitted = last_submitted_;
  pending_.emplace(token, std::move(p));
  last_submitted_ = token;
  out_.appends.push_back({token, std::move(records), ack_when_durable, std::move(answer_on_acks)});
}

void journal_core::on(journal_events::submit_refused& e) {
  auto it = pending_.find(e.id);
  if (it == pending_.end() || it->second.committed)
    return;
  // What the marks and the origin filter admitted is not on its way to the journal: a resend of
  // it must be stored, not dropped as held (submit_refused_records_are_not_held). The origins of
  // the refused records fall back to what the journal holds (a record of theirs still in the
  // committer may then be stored twice: a duplicate, never a loss).
  publishers_.on_append_failed();
  for (const auto& origin : it->second.origins)
    origins_.forget(origin);
  if (last_submitted_ == e.id)
    last_submitted_ = it->second.previous_submitted;
  auto rep = error_reply(std::move(e.code), std::move(e.reason));
  answer_waiters(e.id, rep);
  answer_failed(it, std::move(rep));
}

// A request whose append failed: its error is its answer (a publish frees its admission slot).
void journal_core::answer_failed(pending_map::iterator it, append_reply error) {
  if (it->second.publish) {
    it->second.reply = std::move(error);
    answer_publish(it);
  } else {
    out_.replies.push_back({it->first, std::move(error)});
    pending_.erase(it);
  }
}

// The dup-only appends waiting for append `id`: they get its answer, with no seqs of theirs.
void journal_core::answer_waiters(std::uint64_t id, const append_reply& rep) {
  auto [w_begin, w_end] = waiters_.equal_range(id);
  for (auto w = w_begin; w != w_end; ++w) {
    auto copy = rep;
    copy.first_seq = copy.last_seq = 0; // nothing of the waiter's was appended
    out_.replies.push_back({w->second, std::move(copy)});
  }
  waiters_.erase(id);
}

void journal_core::on(journal_events::commit_done& e) {
  auto it = pending_.find(e.id);
  if (it == pending_.end() || it->second.committed)
    return;
  answer_waiters(e.id, e.result);
  if (e.result.ok)
    on_committed(it, std::move(e.result), e.now_ms);
  else
    on_write_error(it, std::move(e.result));
}

// A write error (every record was checked against the journal's limits before it was submitted,
// so the committer refuses only what it could not write: io_error, no_space, stopped). Whatever
// was pending may be gone: the marks fall back to what the journal really holds.
void journal_core::on_write_error(pending_map::iterator it, append_reply error) {
  if (error.error_code == "record_too_large" || error.error_code == "invalid_argument")
    note(true, "the journal refused a batch that passed the record checks (a bug; handled as a write error): " +
                 error.error);
  origins_.forget_all();
  publishers_.on_append_failed();
  note(false, "append rejected: " + error.error_code + ": " + error.error);
  // A held record whose original is not safe yet may have lost it with this batch: refused too
  // (a refused seq is never resent, so nothing is acked that may not be stored).
  refuse_unsafe_held(error);
  answer_failed(it, std::move(error));
}

void journal_core::on_committed(pending_map::iterator it, append_reply rep, std::uint64_t now_ms) {
  const auto durable = rep.durable_seq;
  auto& p = it->second;
  p.committed = true;
  for (const auto& [publisher, seq] : p.firsts)
    publishers_.note_local(publisher, seq); // durable: this incarnation holds it
  for (const auto& [publisher, seq] : p.marks)
    publishers_.on_durable(publisher, seq);
  if (!p.publish) {
    mark_safe(p.marks); // replicated: its sender holds it durably too
    out_.replies.push_back({it->first, std::move(rep)});
    pending_.erase(it);
  } else {
    // Persisted acks go out in seq order once every sync destination holds the batch.
    const auto last = rep.last_seq;
    p.reply = std::move(rep);
    if (!acks_.add(last, it->first, p.needs)) {
      // Cannot happen: every entry holds an admission slot, so pending() < max_pending here
      // (ack_tracker contract). Never leave a publish unanswered (defect 3): refuse it.
      note(true, "ack tracker refused publish " + std::to_string(last) + " (" + std::to_string(acks_.pending()) +
                   " pending of " + std::to_string(acks_.max_pending()) + "); refused with queue_full");
      p.reply = error_reply("queue_full", "too many publishes wait for their persisted ack");
      answer_publish(it);
    }
  }
  acks_.on_local_durable(durable);
  downgrades_.on_durable(durable, now_ms);
  apply_sync_changes();
  release_persisted(); // also releases held publishes whose originals became safe
  if (durable > notified_durable_) {
    notified_durable_ = durable;
    out_.durable = durable;
  }
}

void journal_core::on(journal_events::destination_ack& e) {
  if (auto it = destination_index_.find(e.destination); it != destination_index_.end()) {
    acks_.on_destination_acked(it->second, e.seq);
    downgrades_.on_position(it->second, e.seq, e.now_ms);
    apply_sync_changes();
    release_persisted();
    emit_replicated();
  }
}

void journal_core::on(journal_events::tick& e) {
  downgrades_.tick(e.now_ms);
  apply_sync_changes();
  release_persisted();
}

void journal_core::on(journal_events::connection& e) {
  if (auto it = destination_index_.find(e.destination); it != destination_index_.end()) {
    downgrades_.on_connection(it->second, e.connected, e.now_ms);
    apply_sync_changes();
    release_persisted();
  }
}

admin_outcome journal_core::admin(std::string_view destination, bool downgrade, std::uint64_t now_ms) {
  auto outcome = downgrade ? downgrades_.admin_downgrade(destination, now_ms)
                           : downgrades_.admin_upgrade(destination, now_ms);
  apply_sync_changes();
  release_persisted();
  return outcome;
}

// Hands sync_downgrade's decisions to the ack rule (the caller then releases what they allow).
void journal_core::apply_sync_changes() {
  for (auto& t : downgrades_.take_transitions()) {
    acks_.set_downgraded(t.destination, t.downgraded);
    out_.sync_changes.push_back(std::move(t));
  }
}

// A publish released partially: its publishers' notes wait for the destinations that lacked it.
void journal_core::note_partial(const publisher_marks& marks, const publisher_marks& lows, std::uint64_t seq,
                                const std::vector<std::uint32_t>& not_on) {
  for (const auto& [publisher, pub_seq] : marks) {
    std::uint64_t low = 1; // unknown: the whole history of this publisher counts as partial
    for (const auto& [p_low, s_low] : lows)
      if (p_low == publisher)
        low = s_low;
    auto it = partial_.find(publisher);
    if (it == partial_.end()) {
      if (partial_.size() >= options_.max_publishers) {
        if (partial_untracked_++ == 0)
          note(false, "more than " + std::to_string(options_.max_publishers) +
                        " publishers have partial acks: no replicated note for publisher " +
                        publisher.substr(0, 64) + " (counted; logged once)");
        continue;
      }
      it = partial_.emplace(publisher, partial{0, 0, low, std::vector<bool>(options_.destinations.size(), false)}).first;
    }
    auto& p = it->second;
    if (p.missing.size() < options_.destinations.size())
      p.missing.resize(options_.destinations.size(), false); // a destination added since
    p.last_seq = std::max(p.last_seq, seq);
    p.up_to = std::max(p.up_to, pub_seq);
    p.from = std::min(p.from, low);
    for (auto i : not_on)
      p.missing[i] = true;
  }
}

// A resend acked as held: its original is safe here, but may have been released partially (the
// core does not keep each original's seq). Conservatively, every downgraded sync destination
// that lacks something durable here is named, and the note waits for it to reach that point.
void journal_core::note_held_not_on(pending_request& p) {
  const auto durable = journal_.durable_seq();
  std::vector<std::uint32_t> lacking;
  for (std::size_t i = 0; i < options_.destinations.size(); ++i)
    if (options_.destinations[i].second && downgrades_.downgraded(i) && acks_.destination_position(i) < durable)
      lacking.push_back(static_cast<std::uint32_t>(i));
  if (lacking.empty())
    return;
  auto& names = p.reply.not_on;
  for (auto i : lacking)
    if (std::find(names.begin(), names.end(), options_.destinations[i].first) == names.end())
      names.push_back(options_.destinations[i].first);
  std::sort(names.begin(), names.end());
  note_partial(p.held_marks, {}, durable, lacking);
}

std::uint64_t journal_core::logon_complete(std::string_view publisher) {
  const auto mark = logon(publisher);
  auto it = partial_.find(std::string{publisher});
  if (it == partial_.end())
    return mark;
  return std::min(mark, it->second.from - 1);
}

// The publishers whose partial acks are now held by every destination that lacked them.
void journal_core::emit_replicated() {
  for (auto it = partial_.begin(); it != partial_.end();) {
    bool held = true;
    for (std::size_t i = 0; i < it->second.missing.size() && held; ++i)
      held = !it->second.missing[i] || acks_.destination_position(i) >= it->second.last_seq;
    if (!held) {
      ++it;
      continue;
    }
    out_.replicated.push_back({it->first, it->second.up_to});
    it = partial_.erase(it);
  }
}

// Delivers a publish's answer (its reply, completed with held and refused when ok) and frees its
// admission slot. Every admitted publish ends here exactly once.
void journal_core::answer_publish(pending_map::iterator it) {
  auto& p = it->second;
  if (p.reply.ok) {
    p.reply.held = std::move(p.held);
    p.reply.refused = std::move(p.refused);
    // Released partially, answered later (its held records waited for their originals): a
    // destination that has caught up meanwhile holds it now (its replicated note still comes).
    std::erase_if(p.reply.not_on, [&](const std::string& name) {
      auto d = destination_index_.find(name);
      return d != destination_index_.end() && acks_.destination_position(d->second) >= p.reply.last_seq;
    });
    if (!p.reply.held.empty())
      note_held_not_on(p);
  }
  out_.replies.push_back({it->first, std::move(p.reply)});
  acks_.on_answered();
  pending_.erase(it);
}

// Answers the publishes whose held records' originals are all safe now (their stored part, if
// any, was released already), in the order they started waiting.
void journal_core::release_held_publishes() {
  for (auto token : dup_waits_.take_safe(publishers_))
    if (auto it = pending_.find(token); it != pending_.end()) {
      it->second.reply.durable_seq = std::max(it->second.reply.durable_seq, journal_.durable_seq());
      answer_publish(it);
    }
}

// A journal write error: the originals of held records that are not safe may be lost with it.
// Those records are refused with the error (a refused seq is never resent, so nothing is acked
// that may not be stored): at once for the publishes already waiting for their originals, at
// their answer for those whose stored part is still in the committer or waits for sync
// destinations (else they would wait for an original that may never come).
void journal_core::refuse_unsafe_held(const append_reply& error) {
  for (auto& lost : dup_waits_.take_on_write_error(publishers_)) {
    auto it = pending_.find(lost.token);
    if (it == pending_.end())
      continue;
    refuse_held(it->second.held, it->second.refused, lost.unsafe, error);
    answer_publish(it);
  }
  for (auto& [id, p] : pending_) {
    if (!p.publish || p.originals.empty())
      continue;
    auto unsafe = duplicate_waits::unsafe_positions(p.originals, publishers_);
    refuse_held(p.held, p.refused, unsafe, error);
    for (auto k = unsafe.rbegin(); k != unsafe.rend(); ++k) // keep originals parallel to held
      p.originals.erase(p.originals.begin() + static_cast<std::ptrdiff_t>(*k));
  }
}

void journal_core::mark_safe(const publisher_marks& marks) {
  for (const auto& [publisher, seq] : marks) {
    publishers_.on_safe(publisher, seq);
    out_.safe_marks.emplace_back(publisher, seq);
  }
}

void journal_core::release_persisted() {
  const auto bound = release_bound(); // take_ready() moves no position
  for (const auto& r : acks_.take_ready()) {
    auto it = pending_.find(r.token);
    if (it == pending_.end())
      continue;
    if (r.kind != release_kind::persisted) {
      it->second.reply = error_reply("io_error", "the journal rejected the batch");
      answer_publish(it);
      continue;
    }
    if (!r.not_on.empty()) {
      auto& names = it->second.reply.not_on;
      for (auto i : r.not_on)
        names.push_back(options_.destinations[i].first);
      std::sort(names.begin(), names.end());
      note_partial(it->second.marks, it->second.firsts, r.seq, r.not_on);
    }
    if (r.seq <= bound)
      mark_safe(it->second.marks);
    else
      deferred_safe_.emplace(r.seq, std::move(it->second.marks));
    // The stored part is persisted; the held part is acked only once its originals are safe
    // (defect 4: a mixed batch waited for its stored part only). Answered by
    // release_held_publishes() below, at once when nothing (more) is needed.
    dup_waits_.wait(r.token, std::move(it->second.originals));
    it->second.originals.clear(); // moved out: refuse_unsafe_held() looks only at those not waiting
  }
  while (!deferred_safe_.empty() && deferred_safe_.begin()->first <= bound) {
    mark_safe(deferred_safe_.begin()->second);
    deferred_safe_.erase(deferred_safe_.begin());
  }
  publishers_.on_release_bound(bound);
  release_held_publishes();
  if (bound > notified_bound_) {
    notified_bound_ = bound;
    out_.persisted_bound = bound;
  }
}

// The topic routes of the sync destinations with a filter (sync_routes_), from options_.
void journal_core::rebuild_routes() {
  const auto& dests = options_.destinations;
  const auto& topics = options_.destination_topics;
  sync_routes_.clear();
  sync_routes_.resize(dests.size());
  for (std::size_t i = 0; i < dests.size(); ++i)
    if (dests[i].second && topics[i] != ".*" && !topics[i].empty())
      sync_routes_[i].emplace(dests[i].first, topics[i], std::vector<std::string>{});
  if (std::none_of(sync_routes_.begin(), sync_routes_.end(), [](const auto& r) { return r.has_value(); }))
    sync_routes_.clear();
}

void journal_core::add_destination(const destination_settings& d, std::uint64_t now_ms) {
  if (has_destination(d.name))
    return change_destination(d, now_ms);
  const auto position = start_position(journal_, d.name); // as at startup: never below the base
  const auto i = acks_.add_destination(position);
  downgrades_.add({d.name, false, d.downgrade_after_ms}, position, now_ms);
  options_.destinations.emplace_back(d.name, false);
  options_.destination_topics.push_back(d.topics);
  options_.downgrade_after_ms.push_back(d.downgrade_after_ms);
  destination_index_[d.name] = i;
  note(false, "destination " + d.name + " added by a config reload (" + (d.sync ? "sync" : "async") +
                "): it is sent everything after seq " + std::to_string(position));
  change_destination(d, now_ms);
}

void journal_core::remove_destination(std::string_view name) {
  auto it = destination_index_.find(std::string{name});
  if (it == destination_index_.end())
    return;
  const auto i = it->second;
  const auto held = acks_.held_back_by(i);
  destination_index_.erase(it);
  acks_.set_sync(i, false);
  downgrades_.remove(i);
  options_.destinations[i].second = false;
  for (auto& [publisher, p] : partial_)
    if (i < p.missing.size())
      p.missing[i] = false;
  note(false, "destination " + std::string{name} + " removed by a config reload" +
                   (held > 0 ? ": " + std::to_string(held) + " publish(es) waiting on it no longer wait for it "
                                                               "(acked now if nothing else holds them)"
                             : ""));
  after_reconfiguration();
}

void journal_core::change_destination(const destination_settings& d, std::uint64_t now_ms) {
  auto it = destination_index_.find(d.name);
  if (it == destination_index_.end())
    return add_destination(d, now_ms);
  const auto i = it->second;
  const bool was_sync = options_.destinations[i].second;
  const auto held = was_sync && !d.sync ? acks_.held_back_by(i) : 0;
  options_.destinations[i].second = d.sync;
  options_.destination_topics[i] = d.topics;
  options_.downgrade_after_ms[i] = d.downgrade_after_ms;
  acks_.set_sync(i, d.sync);
  downgrades_.set_sync(i, d.sync, now_ms);
  downgrades_.set_downgrade_after(i, d.downgrade_after_ms, now_ms);
  if (was_sync && !d.sync) {
    for (auto& [publisher, p] : partial_)
      if (i < p.missing.size())
        p.missing[i] = false;
    if (held > 0)
      note(false, "destination " + d.name + " is async now (config reload): " + std::to_string(held) +
                    " publish(es) waiting on it no longer wait for it");
  }
  after_reconfiguration();
}

// The ack rule under the new destination set: routes for the publishes from now on, and what the
// change released (waiting publishes, safe marks, partial notes).
void journal_core::after_reconfiguration() {
  rebuild_routes();
  apply_sync_changes();
  release_persisted();
  emit_replicated();
}

std::vector<std::string> journal_core::waiting_on() const {
  std::vector<std::string> out;
  const auto holding = acks_.holding_back();
  for (std::size_t i = 0; i < holding.size() && i < options_.destinations.size(); ++i)
    if (holding[i])
      out.push_back(options_.destinations[i].first);
  std::sort(out.begin(), out.end());
  return out;
}

// The destinations a publish batch must reach before its persisted ack: every sync destination
// without a topic filter, and those whose filter admits one of its records (routing.hpp; a local
// publish has no path, so the topic decides). Empty when every destination is needed anyway.
std::vector<bool> journal_core::needed_destinations(const std::vector<journal::record>& records) const {
  if (sync_routes_.empty()) // no sync destination has a topic filter
    return {};
  std::vector<bool> needs(sync_routes_.size(), true);
  const std::string& me = journal_.instance_name();
  for (std::size_t i = 0; i < sync_routes_.size(); ++i) {
    if (!sync_routes_[i])
      continue;
    bool admitted = false;
    for (const auto& r : records) {
      route_input in{me, r.topic, {}, {}, 0};
      if ((admitted = sync_routes_[i]->admits(in)))
        break;
    }
    needs[i] = admitted;
  }
  return needs;
}

} // namespace tandem::logic
