// actors/logic/journal_core.cpp: the journal's decisions, driven without an actor, a thread or a disk.
// A table test per rule, then a randomized model test of the promises (seeded; the seed of a
// failing run is printed; TANDEM_MODEL_SEED / TANDEM_MODEL_RUNS replay or widen it).
#include <doctest/doctest.h>

#include <cstdlib>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "actors/logic/journal_core.hpp"
#include "journal/record_format.hpp"
#include "tests/actors/logic/publish_record.hpp"

using namespace tandem;
using namespace tandem::logic;

namespace {

// The journal as the core reads it; the harness below plays the group committer on top of it.
struct fake_journal final : journal_facts {
  std::string name = "A";
  std::uint64_t base = 1;
  std::uint64_t durable = 0;
  std::map<std::string, std::uint64_t, std::less<>> origin_high; // highest origin_seq held
  std::map<std::string, std::uint64_t> positions;                // persisted destination positions
  const std::string& instance_name() const override { return name; }
  std::uint64_t base_seq() const override { return base; }
  std::uint64_t durable_seq() const override { return durable; }
  std::uint64_t highest_origin_seq(std::string_view origin) const override {
    auto it = origin_high.find(origin);
    return it == origin_high.end() ? 0 : it->second;
  }
  std::uint64_t highest_earlier_own_seq() const override { return 0; }
  mutable std::map<std::string, int> position_reads; // acknowledged() calls by destination
  std::uint64_t acknowledged(const std::string& d) const override {
    ++position_reads[d];
    auto it = positions.find(d);
    return it == positions.end() ? 0 : it->second;
  }
};

journal::record rec(std::string publisher, std::uint64_t publisher_seq, std::string topic = "t") {
  return tandem::test::publish_record(std::move(publisher), publisher_seq, std::move(topic));
}

journal::record replicated(std::string origin, std::uint64_t origin_seq, std::string publisher = "rp",
                           std::uint64_t publisher_seq = 0) {
  auto r = rec(std::move(publisher), publisher_seq);
  r.origin = std::move(origin);
  r.origin_seq = origin_seq;
  r.path = {r.origin};
  return r;
}

using batch = std::vector<journal::record>;

// The core plus a committer that completes appends in order when the test says so.
struct harness {
  fake_journal j;
  journal_core core;
  std::deque<journal_ready::append> queued; // submitted, not committed
  std::map<std::uint64_t, append_reply> replies;
  std::vector<std::uint64_t> order; // tokens in reply order
  std::uint64_t next_token = 1;
  std::size_t answered_twice = 0;
  publisher_marks safe_marks;
  std::uint64_t now = 0; // unix ms, as the actor would read it
  std::vector<sync_transition> sync_changes;
  std::vector<replicated_note> notes;

  explicit harness(journal_core_options o, fake_journal start = {}) : j(std::move(start)), core(j, std::move(o)) {}

  void take() {
    auto r = core.ready();
    for (auto& a : r.appends)
      queued.push_back(std::move(a));
    for (auto& rep : r.replies) {
      answered_twice += replies.count(rep.token);
      replies[rep.token] = std::move(rep.body);
      order.push_back(rep.token);
    }
    safe_marks.insert(safe_marks.end(), r.safe_marks.begin(), r.safe_marks.end());
    sync_changes.insert(sync_changes.end(), r.sync_changes.begin(), r.sync_changes.end());
    notes.insert(notes.end(), r.replicated.begin(), r.replicated.end());
  }
  std::uint64_t publish(batch b) {
    auto t = next_token++;
    core.step(journal_events::publish{t, std::move(b)});
    take();
    return t;
  }
  std::uint64_t append(batch b) {
    auto t = next_token++;
    core.step(journal_events::append{t, std::move(b)});
    take();
    return t;
  }
  // Completes the oldest queued append: durable (seqs assigned after the durable end) or failed.
  journal_ready::append commit(bool ok = true) {
    REQUIRE(!queued.empty());
    auto a = std::move(queued.front());
    queued.pop_front();
    append_reply rep;
    if (ok) {
      rep.ok = true;
      rep.first_seq = j.durable + 1;
      for (auto& r : a.records) {
        r.seq = ++j.durable;
        if (r.origin.empty()) {
          r.origin = j.name;
          r.origin_seq = r.seq;
        }
        auto& h = j.origin_high[r.origin];
        h = std::max(h, r.origin_seq);
      }
      rep.last_seq = j.durable;
      rep.durable_seq = j.durable;
    } else {
      rep.error_code = "io_error";
      rep.error = "disk on fire";
    }
    core.step(journal_events::commit_done{a.id, rep, now});
    take();
    return a;
  }
  void refuse_submit(std::string code = "queue_full") {
    REQUIRE(!queued.empty());
    auto a = std::move(queued.back());
    queued.pop_back();
    core.step(journal_events::submit_refused{a.id, std::move(code), "refused"});
    take();
  }
  void ack(std::string d, std::uint64_t seq) {
    core.step(journal_events::destination_ack{std::move(d), seq, now});
    take();
  }
  void tick() {
    core.step(journal_events::tick{now});
    take();
  }
  void connection(std::string d, bool up) {
    core.step(journal_events::connection{std::move(d), up, now});
    take();
  }
  admin_outcome admin(const std::string& d, bool downgrade) {
    auto out = core.admin(d, downgrade, now);
    take();
    return out;
  }
  bool answered(std::uint64_t t) const { return replies.count(t) > 0; }
  const append_reply& reply(std::uint64_t t) const { return replies.at(t); }
};

journal_core_options dests(std::vector<std::pair<std::string, bool>> d, std::vector<std::string> topics = {}) {
  journal_core_options o;
  o.destinations = std::move(d);
  o.destination_topics = std::move(topics);
  return o;
}

} // namespace

TEST_CASE("journal_core: persisted ack only when durable here AND acked by every sync destination whose filter "
          "admits the record") {
  // S: sync, every topic; F: sync, only orders.*; Y: async.
  struct row {
    const char* topic;
    std::vector<std::pair<const char*, std::uint64_t>> acks; // after the commit
    bool acked;
  };
  const std::vector<row> rows = {
    {"logs.x", {}, false},                       // S has not acked
    {"logs.x", {{"S", 1}}, true},                // F's filter does not admit logs.x
    {"logs.x", {{"F", 1}, {"Y", 1}}, false},     // async and unneeded acks do not count
    {"orders.1", {{"S", 1}}, false},             // F admits orders.1 and has not acked
    {"orders.1", {{"S", 1}, {"F", 1}}, true},
    {"orders.1", {{"F", 1}, {"Y", 1}, {"S", 1}}, true},
  };
  for (const auto& r : rows) {
    CAPTURE(r.topic);
    CAPTURE(r.acks.size());
    harness h(dests({{"S", true}, {"F", true}, {"Y", false}}, {".*", "orders\\..*", ".*"}));
    auto t = h.publish({rec("p", 1, r.topic)});
    for (const auto& [d, seq] : r.acks) // acks ahead of the commit prove nothing: the journal is not durable
      h.ack(d, seq);
    CHECK_FALSE(h.answered(t));
    h.commit();
    CHECK(h.answered(t) == r.acked);
    if (r.acked)
      CHECK(h.reply(t).ok);
  }
}

TEST_CASE("journal_core: async destinations never delay a persisted ack") {
  harness h(dests({{"Y1", false}, {"Y2", false}}));
  auto t = h.publish({rec("p", 1), rec("p", 2)});
  CHECK_FALSE(h.answered(t));
  h.commit();
  REQUIRE(h.answered(t));
  CHECK(h.reply(t).ok);
  CHECK(h.reply(t).first_seq == 1);
  CHECK(h.reply(t).last_seq == 2);
  CHECK(h.core.release_bound() == 2);
}

TEST_CASE("journal_core: a publish the commit alone answers is marked so; not with a sync destination, another "
          "publish unanswered, or a held or refused record") {
  SUBCASE("no destination, or async ones only: marked, and answered at its commit with its outcome") {
    for (auto o : {dests({}), dests({{"Y", false}})}) {
      harness h(o);
      auto t = h.publish({rec("p", 1), rec("p", 2)});
      REQUIRE(h.queued.size() == 1);
      CHECK(h.queued.front().ack_when_durable);
      h.commit();
      REQUIRE(h.answered(t));
      CHECK(h.reply(t).ok);
      CHECK(h.reply(t).last_seq == 2);
    }
  }
  SUBCASE("a sync destination, even one whose filter does not admit the record: not marked") {
    harness h(dests({{"F", true}}, {"orders\\..*"}));
    h.publish({rec("p", 1, "logs.1")});
    REQUIRE(h.queued.size() == 1);
    CHECK_FALSE(h.queued.front().ack_when_durable);
  }
  SUBCASE("another publish unanswered: the second is not marked (acks go out in seq order)") {
    harness h(dests({{"Y", false}}));
    h.publish({rec("p", 1)});
    h.publish({rec("q", 1)});
    REQUIRE(h.queued.size() == 2);
    CHECK(h.queued.front().ack_when_durable);
    CHECK_FALSE(h.queued.back().ack_when_durable);
    h.commit();
    h.commit();
    h.publish({rec("q", 2)}); // both answered: marked again
    CHECK(h.queued.back().ack_when_durable);
  }
  SUBCASE("a held record (a resend) or a refused one: not marked") {
    harness h(dests({}));
    h.publish({rec("p", 1)});
    h.commit();
    h.publish({rec("p", 1), rec("p", 2)}); // p:1 is held already
    REQUIRE(h.queued.size() == 1);
    CHECK_FALSE(h.queued.front().ack_when_durable);
    h.commit();
    auto bad = rec("p", 3);
    bad.topic = std::string(70000, 't'); // over the topic limit: refused on its own
    h.publish({bad, rec("p", 4)});
    REQUIRE(h.queued.size() == 1);
    CHECK_FALSE(h.queued.front().ack_when_durable);
  }
  SUBCASE("a replicated append is never marked") {
    harness h(dests({}));
    auto r = rec("p", 1);
    r.origin = "X";
    r.origin_seq = 1;
    h.append({r});
    REQUIRE(h.queued.size() == 1);
    CHECK_FALSE(h.queued.front().ack_when_durable);
  }
}

TEST_CASE("journal_core: acks in publish order per connection (same destinations needed)") {
  harness h(dests({{"S", true}}));
  std::vector<std::uint64_t> tokens;
  for (std::uint64_t i = 1; i <= 4; ++i)
    tokens.push_back(h.publish({rec("p", i)}));
  for (int i = 0; i < 4; ++i)
    h.commit();
  CHECK(h.order.empty());
  h.ack("S", 3); // releases the first three, in publish order
  CHECK(h.order == std::vector<std::uint64_t>{tokens[0], tokens[1], tokens[2]});
  h.ack("S", 4);
  CHECK(h.order == tokens);
}

TEST_CASE("journal_core: a publish that needs no down sync destination is not held behind one that does") {
  harness h(dests({{"F", true}}, {"orders\\..*"}));
  auto needs_f = h.publish({rec("p", 1, "orders.1")});
  auto free = h.publish({rec("q", 1, "logs.1")});
  h.commit();
  h.commit();
  CHECK(h.order == std::vector<std::uint64_t>{free}); // F is down: only the publish it must hold waits
  h.ack("F", 2);
  CHECK(h.order == std::vector<std::uint64_t>{free, needs_f});
}

TEST_CASE("journal_core: a resend is acked only once its original is safe") {
  harness h(dests({{"S", true}}));
  auto original = h.publish({rec("p", 1)});
  auto resend = h.publish({rec("p", 1)}); // racing its original: held, not stored
  CHECK(h.queued.size() == 1);
  auto mixed = h.publish({rec("p", 1), rec("p", 2)}); // a resend and a new record
  h.commit();
  h.commit();
  CHECK(h.order.empty()); // durable here, but S holds nothing yet
  h.ack("S", 1);          // the original is safe; the mixed batch's new record is not
  CHECK(h.order.size() == 2);
  CHECK(h.answered(original));
  REQUIRE(h.answered(resend));
  CHECK(h.reply(resend).ok);
  CHECK(h.reply(resend).held == std::vector<std::uint32_t>{0});
  CHECK(h.reply(resend).first_seq == 0);
  CHECK(h.core.logon("p") == 1);
  h.ack("S", 2);
  REQUIRE(h.answered(mixed));
  CHECK(h.reply(mixed).held == std::vector<std::uint32_t>{0});
  CHECK(h.reply(mixed).first_seq == 2);
  CHECK(h.core.logon("p") == 2);
}

TEST_CASE("journal_core: a refused record is a per-record negative ack; only an I/O error fails the batch") {
  harness h(dests({}));
  auto bad = rec("p", 2, std::string(journal::format::max_topic_bytes + 1, 't'));
  auto limit = rec("p", 3, std::string(journal::format::max_topic_bytes, 't')); // at the limit: stored
  auto t = h.publish({rec("p", 1), bad, limit});
  REQUIRE(h.queued.size() == 1);
  CHECK(h.queued.front().records.size() == 2);
  h.commit();
  REQUIRE(h.answered(t));
  CHECK(h.reply(t).ok);
  REQUIRE(h.reply(t).refused.size() == 1);
  CHECK(h.reply(t).refused[0].index == 1);
  CHECK(h.reply(t).refused[0].code == "record_too_large");
  // A replicated batch with such a record: refused whole, nothing submitted, nothing marked.
  auto too_long = replicated("B", 2);
  too_long.topic.assign(journal::format::max_topic_bytes + 1, 't');
  auto r = h.append({replicated("B", 1), too_long});
  REQUIRE(h.answered(r));
  CHECK(h.reply(r).error_code == "invalid_record");
  CHECK(h.queued.empty());
  auto again = h.append({replicated("B", 1)}); // B:1 was not marked by the refused batch
  CHECK(h.queued.size() == 1);
  h.commit();
  CHECK(h.reply(again).ok);
  // An I/O error fails the batch: a negative ack, and the marks fall back (a resend is stored).
  auto failing = h.publish({rec("p", 4)});
  h.commit(false);
  REQUIRE(h.answered(failing));
  CHECK_FALSE(h.reply(failing).ok);
  CHECK(h.reply(failing).error_code == "io_error");
  h.publish({rec("p", 4)});
  CHECK(h.queued.size() == 1);
}

TEST_CASE("journal_core: held publishes and waiters are released when their condition holds") {
  harness h(dests({{"S", true}}));
  // Waiter: a replicated batch with nothing new is answered when the append before it is durable.
  auto first = h.append({replicated("B", 1), replicated("B", 2)});
  auto copy = h.append({replicated("B", 2)}); // the same record on a second connection
  CHECK(h.queued.size() == 1);
  CHECK_FALSE(h.answered(copy));
  h.commit();
  REQUIRE(h.answered(copy));
  CHECK(h.reply(copy).ok);
  CHECK(h.reply(copy).first_seq == 0);
  CHECK(h.reply(first).ok);
  CHECK(h.core.waiters() == 0);
  // Held publish whose original is lost with a write error: refused, not acked.
  auto original = h.publish({rec("p", 1)});
  auto resend = h.publish({rec("p", 1), rec("p", 2)});
  CHECK(h.queued.size() == 2);
  h.commit(false); // the original's batch fails
  CHECK_FALSE(h.reply(original).ok);
  h.commit(); // p:2 durable, waits for S
  h.ack("S", h.j.durable);
  REQUIRE(h.answered(resend));
  CHECK(h.reply(resend).ok);
  CHECK(h.reply(resend).held.empty());
  REQUIRE(h.reply(resend).refused.size() == 1);
  CHECK(h.reply(resend).refused[0].index == 0);
  CHECK(h.reply(resend).refused[0].code == "io_error");
  CHECK(h.core.requests_pending() == 0);
  CHECK(h.core.held_publishes_waiting() == 0);
}

TEST_CASE("journal_core: the constructor reads each destination's persisted position once") {
  fake_journal start;
  start.base = 5;
  start.durable = 12;
  start.positions["S"] = 9;
  harness h(dests({{"S", true}, {"Y", false}}), start);
  CHECK(h.j.position_reads["S"] == 1); // journal_facts::acknowledged: "read once at startup"
  CHECK(h.j.position_reads["Y"] == 1);
  CHECK(h.core.acks().destination_position(0) == 9); // S's persisted position
  CHECK(h.core.acks().destination_position(1) == 4); // Y, new to this journal: the base floor
  CHECK(h.core.release_bound() == 9);
}

TEST_CASE("journal_core: disconnect and reconnect of a sync destination") {
  fake_journal start;
  start.durable = 2;
  start.positions["S"] = 2; // persisted position from before
  harness h(dests({{"S", true}, {"F", true}}, {".*", "orders\\..*"}), start);
  CHECK(h.core.release_bound() == 0); // F has never acked
  h.ack("F", 2);
  CHECK(h.core.release_bound() == 2);
  auto a = h.publish({rec("p", 1)});
  auto b = h.publish({rec("p", 2)});
  h.commit();
  h.commit();
  h.ack("S", 3); // then S disconnects: no more acks
  CHECK(h.answered(a));
  CHECK_FALSE(h.answered(b));
  // Reconnected, S resumes from its persisted (older) position: a stale ack moves nothing.
  h.ack("S", 2);
  CHECK_FALSE(h.answered(b));
  CHECK(h.core.acks().ignored_updates() >= 1);
  h.ack("S", 4);
  CHECK(h.answered(b));
  CHECK(h.core.acks().pending() == 0);
}

// Regression: the journal actor left a batch the committer refused at submit (queue_full,
// stopped) in its per-origin high-water marks, so the peer's resend of it was dropped as held
// and acked although it was never stored.
TEST_CASE("journal_core: submit_refused_records_are_not_held") {
  harness h(dests({}));
  auto t = h.append({replicated("B", 1), replicated("B", 2)});
  h.refuse_submit();
  REQUIRE(h.answered(t));
  CHECK(h.reply(t).error_code == "queue_full");
  auto resend = h.append({replicated("B", 1), replicated("B", 2)});
  REQUIRE(h.queued.size() == 1); // stored, not dropped as a duplicate
  CHECK(h.queued.front().records.size() == 2);
  h.commit();
  CHECK(h.reply(resend).ok);
  CHECK(h.reply(resend).last_seq == 2);
}

TEST_CASE("journal_core: a refused submit does not release the duplicates of an append still in the committer") {
  harness h(dests({}));
  h.append({replicated("B", 1)});
  h.append({replicated("C", 1)});
  h.refuse_submit(); // C:1 refused; B:1 still in the committer
  auto copy = h.append({replicated("B", 1)});
  CHECK(h.queued.size() == 1);
  CHECK_FALSE(h.answered(copy)); // waits for B:1 to be durable
  h.commit();
  CHECK(h.reply(copy).ok);
}

TEST_CASE("journal_core: state shrinks back once everything is answered") {
  harness h(dests({{"S", true}, {"Y", false}}));
  for (std::uint64_t i = 1; i <= 50; ++i) {
    h.publish({rec("p", i)});
    h.publish({rec("p", i)}); // resend
    h.append({replicated("B", i)});
  }
  while (!h.queued.empty())
    h.commit();
  CHECK(h.core.requests_pending() > 0);
  h.ack("S", h.j.durable);
  CHECK(h.replies.size() == 150);
  CHECK(h.answered_twice == 0);
  CHECK(h.core.requests_pending() == 0);
  CHECK(h.core.waiters() == 0);
  CHECK(h.core.deferred_safe_marks() == 0);
  CHECK(h.core.held_publishes_waiting() == 0);
  CHECK(h.core.acks().pending() == 0);
  CHECK(h.core.acks().admitted() == 0);
}


// ---- Sync downgrade (issue 16) -----------------------------------------------------------------

namespace {
journal_core_options downgrading(std::uint64_t after_ms) {
  auto o = dests({{"S", true}, {"F", true}, {"Y", false}}, {".*", "orders\\..*", ".*"});
  o.downgrade_after_ms = {after_ms, after_ms, after_ms};
  return o;
}
} // namespace

TEST_CASE("journal_core: a downgraded sync destination stops holding acks; the ack names it in not_on") {
  harness h(downgrading(0));
  auto t1 = h.publish({rec("p", 1, "logs.x")});   // needs S only
  auto t2 = h.publish({rec("p", 2, "orders.1")}); // needs S and F
  h.commit();
  h.commit();
  h.ack("F", 2);
  CHECK(h.core.waiting_on() == std::vector<std::string>{"S"});
  CHECK_FALSE(h.answered(t1));
  CHECK(h.admin("S", true) == admin_outcome::ok);
  REQUIRE(h.answered(t1));
  REQUIRE(h.answered(t2));
  CHECK(h.reply(t1).ok);
  CHECK(h.reply(t1).not_on == std::vector<std::string>{"S"});
  CHECK(h.reply(t2).not_on == std::vector<std::string>{"S"});
  CHECK(h.core.waiting_on().empty());
  CHECK(h.core.release_bound() == 2); // S left out of the bound: safe marks rise
  CHECK(h.core.deferred_safe_marks() == 0);
  CHECK(h.notes.empty());
  h.ack("S", 1);
  CHECK(h.notes.empty()); // up to publisher_seq 2 is not on S yet
  h.ack("S", 2);
  CHECK(h.notes == std::vector<replicated_note>{{"p", 2}});
  CHECK(h.core.replicated_notes_pending() == 0);
}

TEST_CASE("journal_core: logon_complete stays below a partial ack until its replicated note") {
  harness h(downgrading(0));
  auto t1 = h.publish({rec("p", 1, "orders.1")}); // needs S and F
  h.commit();
  h.ack("S", 1);
  h.ack("F", 1);
  REQUIRE(h.answered(t1));
  CHECK(h.reply(t1).not_on.empty()); // complete
  CHECK(h.admin("S", true) == admin_outcome::ok);
  auto t2 = h.publish({rec("p", 2, "orders.2"), rec("p", 3, "orders.3")});
  h.commit();
  h.ack("F", 3);
  REQUIRE(h.answered(t2));
  CHECK(h.reply(t2).not_on == std::vector<std::string>{"S"});
  // The safe mark covers the partial ack; the complete mark stops before its first message, so a
  // 1.2 publisher that lost that ack resends 2 and 3 instead of dropping them.
  CHECK(h.core.logon("p") == 3);
  CHECK(h.core.logon_complete("p") == 1);
  CHECK(h.core.logon_complete("other") == h.core.logon("other"));
  h.ack("S", 2);
  CHECK(h.core.logon_complete("p") == 1); // 3 is not on S yet
  h.ack("S", 3);
  CHECK(h.notes == std::vector<replicated_note>{{"p", 3}});
  CHECK(h.core.logon_complete("p") == 3);
}

TEST_CASE("journal_core: a complete ack has an empty not_on, also while another destination is downgraded") {
  harness h(downgrading(0));
  h.admin("F", true);
  auto t = h.publish({rec("p", 1, "orders.1")}); // needs S and F
  h.commit();
  h.ack("F", 1);
  h.ack("S", 1);
  REQUIRE(h.answered(t));
  CHECK(h.reply(t).not_on.empty()); // F held it all the same: complete
  CHECK(h.notes.empty());
}

TEST_CASE("journal_core: the age rule downgrades after downgrade_after_ms and releases what waited") {
  harness h(downgrading(100));
  h.now = 1000;
  auto t = h.publish({rec("p", 1, "logs.x")});
  h.commit();
  h.ack("F", 1); // F's link covers what its filter does not admit
  CHECK(h.core.wants_ticks());
  h.now = 1100;
  h.tick();
  CHECK_FALSE(h.answered(t));
  h.now = 1101;
  h.tick();
  REQUIRE(h.answered(t));
  CHECK(h.reply(t).not_on == std::vector<std::string>{"S"});
  REQUIRE(h.sync_changes.size() == 1);
  CHECK(h.sync_changes[0].reason == downgrade_reason::ack_timeout);
  CHECK(h.core.downgrades().downgraded(0));
  CHECK_FALSE(h.core.wants_ticks()); // nothing tracked is waiting
}

TEST_CASE("journal_core: a fresh journal's sync destination is not downgraded with nothing published") {
  // A new journal numbers from a wall-clock base; a destination new to it has position 0. Nothing
  // below the base exists, so nothing waits: no ack_timeout on an idle pair (seen on two fresh
  // tandemd: "a record routed to it (seq 1) waited 2069 ms" 2 s after start, no record published).
  fake_journal fresh;
  fresh.base = 5'000'001;
  fresh.durable = 5'000'000;
  harness h(downgrading(100), fresh);
  h.now = 1000;
  h.tick();
  h.now = 5000;
  h.tick();
  CHECK(h.sync_changes.empty());
  CHECK_FALSE(h.core.downgrades().downgraded(0));
  CHECK_FALSE(h.core.wants_ticks());
  auto t = h.publish({rec("p", 1, "orders.1")}); // needs S and F
  h.commit();
  h.ack("S", 5'000'001);
  CHECK_FALSE(h.answered(t));
  h.ack("F", 5'000'001);
  REQUIRE(h.answered(t));
  CHECK(h.reply(t).not_on.empty()); // complete: both sync destinations hold it
}

TEST_CASE("journal_core: an upgraded destination holds the publishes released from then on, not earlier ones") {
  harness h(downgrading(100));
  h.connection("S", true);
  h.admin("S", true);
  auto t1 = h.publish({rec("p", 1, "logs.x")});
  h.commit();
  REQUIRE(h.answered(t1)); // released without S
  h.admin("S", false);     // back to sync once caught up: not yet
  CHECK(h.core.downgrades().downgraded(0));
  auto t2 = h.publish({rec("p", 2, "logs.x")});
  h.commit();
  REQUIRE(h.answered(t2)); // still downgraded
  h.ack("S", 2);           // caught up: upgraded
  CHECK_FALSE(h.core.downgrades().downgraded(0));
  CHECK(h.notes == std::vector<replicated_note>{{"p", 2}});
  auto t3 = h.publish({rec("p", 3, "logs.x")});
  h.commit();
  CHECK_FALSE(h.answered(t3)); // sync again: waits for S
  h.ack("S", 3);
  REQUIRE(h.answered(t3));
  CHECK(h.reply(t3).not_on.empty());
}

TEST_CASE("journal_core: a resend of a message acked partially is not acked as complete") {
  harness h(downgrading(0));
  h.admin("S", true);
  auto t1 = h.publish({rec("p", 1, "logs.x")});
  h.commit();
  h.ack("F", 1); // F's link covers what its filter does not admit: the safe mark rises
  REQUIRE(h.answered(t1));
  CHECK(h.reply(t1).not_on == std::vector<std::string>{"S"});
  auto t2 = h.publish({rec("p", 1, "logs.x")}); // the publisher resends it (e.g. after a reconnect)
  REQUIRE(h.answered(t2));
  CHECK(h.reply(t2).held == std::vector<std::uint32_t>{0});
  CHECK(h.reply(t2).not_on == std::vector<std::string>{"S"}); // not "on every sync destination"
  h.ack("S", 1);
  CHECK(h.notes == std::vector<replicated_note>{{"p", 1}});
}

// ---- Randomized model test ------------------------------------------------------------------
// Random event sequences (publishes and resends from a few client connections, replicated batches
// and their duplicates from peers, commits in order, write errors that fail every queued append as
// the group committer does, refusals at submit, destination acks, stale ones included, logons)
// checked against a reference model of the promises:
//   P1 every ok reply to a publish: its stored records are durable here and covered by every sync
//      destination whose filter admits them; each held record's original is too (or, replicated,
//      durable here); every ok reply to an append: each record has a durable copy here;
//   P2 acks in publish order per connection among publishes needing the same destinations;
//   P3 a logon mark covers only safe records;
//   P4 no promise left undelivered once its conditions hold (checked after every event for
//      publishes that stored all their records, and for everything after the final drain);
//   P5 bounded state: after the drain the core's maps are empty; every request answered once.
// With sync downgrades (issue 16; destinations get a random downgrade_after_ms, the clock moves,
// ticks, connection changes and admin actions come at random; which destination is downgraded is
// what the core reports in sync_changes, its rules being sync_downgrade_test's):
//   P1 reads: a persisted ack with empty not_on implies every needed sync destination holds it;
//      one with not_on names exactly the needed sync destinations that did not hold it, each
//      downgraded at that moment;
//   P6 every `replicated` note is true when emitted (a note may come for an ack that was
//      released partially but answered complete, its held records having waited) (every partial ack of that publisher up to
//      that publisher_seq is held by every destination its not_on named), and none is left
//      undelivered once every partial ack of a publisher is held (after every event, and after
//      the drain).
namespace {

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

struct model_failure {
  std::string what;
};

// Over all runs: how often the downgrade paths were taken (the model test must exercise them).
struct model_coverage {
  std::uint64_t downgrades = 0, partial_acks = 0, notes = 0;
  std::uint64_t answered_by_commit = 0; // publishes marked ack_when_durable, checked at their commit
};
model_coverage coverage;

class model_run {
public:
  explicit model_run(std::uint64_t seed) : rng_(seed) {
    const auto n = pick(4);
    for (std::size_t i = 0; i < n; ++i) {
      dests_.push_back({"D" + std::to_string(i), pick(2) == 0, pick(3) == 0});
      pos_.push_back(0);
    }
    journal_core_options o;
    for (const auto& d : dests_) {
      o.destinations.emplace_back(d.name, d.sync);
      o.destination_topics.push_back(d.only_a ? "a\\..*" : ".*");
      o.downgrade_after_ms.push_back(pick(3) == 0 ? 0 : 20 + pick(200));
    }
    downgraded_.assign(dests_.size(), false);
    o.max_pending_publishes = 1 + pick(64); // admission refusals (queue_full) happen too
    h_.emplace(std::move(o));
    conns_.resize(1 + pick(3));
  }

  void run() {
    const auto events = 100 + pick(200);
    for (std::size_t i = 0; i < events; ++i) {
      one_event();
      check_new_replies();
      check_liveness();
      check_notes_delivered();
    }
    while (!h_->queued.empty()) { // drain: every append durable, every destination caught up
      commit_ok();
      check_new_replies();
    }
    for (std::size_t d = 0; d < dests_.size(); ++d) { // connected, no admin hold: upgraded once caught up
      h_->connection(dests_[d].name, true);
      h_->admin(dests_[d].name, false);
      check_new_replies();
    }
    for (std::size_t d = 0; d < dests_.size(); ++d) {
      ack(d, h_->j.durable);
      check_new_replies();
    }
    check_end();
  }

private:
  struct dest {
    std::string name;
    bool sync;
    bool only_a; // topic filter a\..*
  };
  struct conn {
    std::uint64_t next = 1; // next publisher_seq
    std::vector<std::uint64_t> stored_ok; // publisher_seqs acked as stored
  };
  struct request {
    bool publish = false;
    std::size_t conn = 0;
    batch input;
    std::optional<journal_ready::append> committed; // with seqs
    std::size_t reply_at = 0; // position in the reply order (answered only)
  };
  struct copy {
    std::uint64_t seq;
    std::string topic;
    bool replicated;
  };

  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(rng_() % n); }
  [[noreturn]] void fail(const std::string& what) { throw model_failure{what}; }

  bool admits(const dest& d, const std::string& topic) const { return !d.only_a || topic.rfind("a.", 0) == 0; }

  // P1's condition for one stored copy.
  bool safe(const copy& c) const {
    if (c.seq > h_->j.durable)
      return false;
    if (c.replicated || released_partially_.count(c.seq))
      return true;
    for (std::size_t d = 0; d < dests_.size(); ++d)
      if (dests_[d].sync && admits(dests_[d], c.topic) && pos_[d] < c.seq && !downgraded_[d])
        return false;
    return true;
  }
  // P1 for a persisted ack: not_on is exactly the needed sync destinations that do not hold its
  // stored records, each downgraded, plus (when it has held records, whose originals may have
  // been acked partially) every downgraded sync destination lacking something durable here.
  void check_not_on(const request& q, const append_reply& rep) {
    std::set<std::string> expected;
    std::vector<partial_ack> partials; // per record (publisher in `who`)
    std::vector<std::string> who;
    if (rep.last_seq != 0 && q.committed) { // (never committed: P1 fails below)
      const auto n = needs(q);
      const auto last = q.committed->records.back().seq;
      partial_ack pa{last, 0, {}};
      for (std::size_t d = 0; d < dests_.size(); ++d)
        if (n[d] && pos_[d] < last) {
          if (!downgraded_[d])
            fail("P1: publish (seq " + std::to_string(last) + ") acked while sync destination " + dests_[d].name +
                 " (not downgraded) is at " + std::to_string(pos_[d]));
          expected.insert(dests_[d].name);
          pa.missing.push_back(d);
        }
      if (!pa.missing.empty())
        for (const auto& r : q.committed->records) {
          released_partially_.insert(r.seq);
          pa.pub_seq = r.publisher_seq;
          partials.push_back(pa);
          who.push_back(r.publisher);
        }
    }
    if (!rep.held.empty()) {
      partial_ack pa{h_->j.durable, 0, {}};
      for (std::size_t d = 0; d < dests_.size(); ++d)
        if (dests_[d].sync && downgraded_[d] && pos_[d] < h_->j.durable) {
          expected.insert(dests_[d].name);
          pa.missing.push_back(d);
        }
      if (!pa.missing.empty())
        for (auto i : rep.held) {
          pa.pub_seq = q.input[i].publisher_seq;
          partials.push_back(pa);
          who.push_back(q.input[i].publisher);
        }
    }
    if (rep.not_on != std::vector<std::string>(expected.begin(), expected.end()))
      fail("P1: not_on of token reply does not name exactly the destinations lacking it (got " +
           std::to_string(rep.not_on.size()) + ", expected " + std::to_string(expected.size()) + ", held " +
           std::to_string(rep.held.size()) + ")");
    coverage.partial_acks += !partials.empty();
    for (std::size_t k = 0; k < partials.size(); ++k)
      partial_[who[k]].push_back(partials[k]);
  }
  bool any_safe(const std::string& publisher, std::uint64_t pseq) const {
    auto it = by_publisher_.find({publisher, pseq});
    if (it == by_publisher_.end())
      return false;
    return std::any_of(it->second.begin(), it->second.end(), [&](const copy& c) { return safe(c); });
  }
  bool any_durable(const journal::record& r) const {
    auto durable = [&](const std::vector<copy>& cs) {
      return std::any_of(cs.begin(), cs.end(), [&](const copy& c) { return c.seq <= h_->j.durable; });
    };
    if (auto it = by_origin_.find({r.origin, r.origin_seq}); it != by_origin_.end() && durable(it->second))
      return true;
    auto it = by_publisher_.find({r.publisher, r.publisher_seq});
    return r.publisher_seq != 0 && it != by_publisher_.end() && durable(it->second);
  }

  std::string topic() { return pick(2) ? "a.x" : "b.y"; }

  // What the core decided about downgrades, and its replicated notes (P6), since the last look.
  void follow_core() {
    for (; changes_seen_ < h_->sync_changes.size(); ++changes_seen_) {
      const auto& t = h_->sync_changes[changes_seen_];
      if (!dests_[t.destination].sync)
        fail("an async destination " + dests_[t.destination].name + " changed its sync state");
      if (downgraded_[t.destination] == t.downgraded)
        fail("transition of " + dests_[t.destination].name + " reported twice");
      downgraded_[t.destination] = t.downgraded;
      coverage.downgrades += t.downgraded;
    }
    for (; notes_seen_ < h_->notes.size(); ++notes_seen_) {
      const auto& n = h_->notes[notes_seen_];
      ++coverage.notes;
      auto& list = partial_[n.publisher]; // may be empty: an ack answered late, complete by then
      for (auto it = list.begin(); it != list.end();) {
        if (it->pub_seq > n.up_to_publisher_seq) {
          ++it;
          continue;
        }
        for (auto d : it->missing)
          if (pos_[d] < it->last_seq)
            fail("P6: replicated note " + n.publisher + " up to " + std::to_string(n.up_to_publisher_seq) + " while " +
                 dests_[d].name + " is at " + std::to_string(pos_[d]) + " below " + std::to_string(it->last_seq));
        it = list.erase(it);
      }
      if (list.empty())
        partial_.erase(n.publisher);
    }
  }

  // P6 liveness: a publisher whose partial acks are all held has had its note. (One note per
  // publisher covers every partial release, so a release whose answer still waits -- its held
  // records' originals -- may hold the note back: checked once none waits.)
  void check_notes_delivered() {
    for (const auto& [publisher, list] : partial_) {
      const bool unanswered = std::any_of(requests_.begin(), requests_.end(), [&](const auto& r) {
        return r.second.publish && !r.second.reply_at && r.second.committed &&
               "c" + std::to_string(r.second.conn) == publisher;
      });
      if (unanswered)
        continue;
      bool held = true;
      for (const auto& pa : list)
        for (auto d : pa.missing)
          held = held && pos_[d] >= pa.last_seq;
      if (held)
        fail("P6: every partial ack of " + publisher + " is held but no replicated note came");
    }
  }

  void time_event() {
    h_->now += pick(60);
    const auto e = pick(10);
    if (dests_.empty() || e < 6)
      return h_->tick();
    const auto d = pick(dests_.size());
    if (e < 8)
      h_->connection(dests_[d].name, pick(2) == 0);
    else
      h_->admin(dests_[d].name, pick(2) == 0);
  }

  void submitted(std::uint64_t token, bool publish, std::size_t c, batch input) {
    requests_[token] = {publish, c, std::move(input), std::nullopt, 0};
    // The actor submits right after the step; the committer may refuse it at once.
    if (!h_->queued.empty() && h_->queued.back().id == token && pick(20) == 0)
      h_->refuse_submit();
  }

  void publish_event(bool resend) {
    const auto c = pick(conns_.size());
    auto& cn = conns_[c];
    const std::string who = "c" + std::to_string(c);
    batch b;
    if (resend && cn.next > 1) {
      const auto s = cn.next - 1 - std::min<std::uint64_t>(cn.next - 2, pick(4));
      b.push_back(rec(who, s, topic()));
    }
    for (auto k = (resend ? pick(2) : 1 + pick(3)); k > 0; --k)
      b.push_back(rec(who, cn.next++, topic()));
    if (b.empty())
      return;
    auto input = b;
    submitted(h_->publish(std::move(b)), true, c, std::move(input));
  }

  void append_event() {
    batch b;
    if (pick(4) == 0 && peer_next_ > 1) { // a duplicate range (a second connection, a resend)
      for (auto s = peer_next_ - 1 - std::min<std::uint64_t>(peer_next_ - 2, pick(3)); s < peer_next_; ++s)
        b.push_back(replicated("P", s, "peer", s));
    } else {
      for (auto k = 1 + pick(3); k > 0; --k, ++peer_next_)
        b.push_back(replicated("P", peer_next_, "peer", peer_next_));
    }
    const auto c = pick(conns_.size());
    if (pick(4) == 0 && !conns_[c].stored_ok.empty()) // a client's record that reached peer Q too
      b.push_back(replicated("Q", q_next_++, "c" + std::to_string(c), conns_[c].stored_ok[pick(conns_[c].stored_ok.size())]));
    auto input = b;
    submitted(h_->append(std::move(b)), false, 0, std::move(input));
  }

  void commit_event() {
    if (h_->queued.empty())
      return;
    if (pick(25) == 0) { // a write error fails every queued append
      while (!h_->queued.empty())
        h_->commit(false);
      return;
    }
    commit_ok();
  }

  void commit_ok() {
    const auto before = h_->order.size();
    auto a = h_->commit();
    // ack_when_durable (the actor may answer it from the committer thread with the commit's
    // outcome): the core answers it in this very step, with exactly that outcome.
    if (a.ack_when_durable) {
      ++coverage.answered_by_commit;
      if (std::find(h_->order.begin() + static_cast<std::ptrdiff_t>(before), h_->order.end(), a.id) == h_->order.end())
        fail("ack_when_durable: publish " + std::to_string(a.id) + " not answered at its commit");
      const auto& rep = h_->reply(a.id);
      if (!rep.ok || rep.first_seq != a.records.front().seq || rep.last_seq != a.records.back().seq ||
          !rep.held.empty() || !rep.refused.empty() || !rep.not_on.empty())
        fail("ack_when_durable: publish " + std::to_string(a.id) + " answered otherwise than by its commit");
    }
    for (const auto& r : a.records) {
      by_publisher_[{r.publisher, r.publisher_seq}].push_back({r.seq, r.topic, !r.path.empty()});
      by_origin_[{r.origin, r.origin_seq}].push_back({r.seq, r.topic, !r.path.empty()});
    }
    if (auto it = requests_.find(a.id); it != requests_.end())
      it->second.committed = std::move(a);
  }

  void ack(std::size_t d, std::uint64_t v) {
    pos_[d] = std::max(pos_[d], v); // a lower (stale) position moves nothing
    h_->ack(dests_[d].name, v);
  }

  void one_event() {
    const auto e = pick(100);
    if (e < 30)
      publish_event(false);
    else if (e < 40)
      publish_event(true);
    else if (e < 55)
      append_event();
    else if (e < 80)
      commit_event();
    else if (e < 88 && !dests_.empty()) {
      const auto d = pick(dests_.size());
      const auto v = pick(4) == 0 ? (pos_[d] > 0 ? pos_[d] - 1 : 0) : std::min(h_->j.durable, pos_[d] + 1 + pick(3));
      ack(d, v);
    } else if (e < 96) {
      time_event();
    } else {
      const auto c = pick(conns_.size());
      const std::string who = "c" + std::to_string(c);
      const auto m = h_->core.logon(who);
      if (m != 0 && !any_safe(who, m))
        fail("P3: logon mark " + std::to_string(m) + " of " + who + " covers a record that is not safe");
    }
  }

  // A client whose publish failed (or had records refused) resends from the first one lost.
  void client_lost(const request& q, const append_reply& rep) {
    auto& cn = conns_[q.conn];
    for (std::size_t i = 0; i < q.input.size(); ++i) {
      const bool lost = !rep.ok || std::any_of(rep.refused.begin(), rep.refused.end(),
                                               [&](const refusal& f) { return f.index == i; });
      if (lost)
        cn.next = std::min(cn.next, q.input[i].publisher_seq);
    }
  }

  void check_publish_reply(request& q, const append_reply& rep) {
    if (!rep.ok)
      return client_lost(q, rep);
    check_not_on(q, rep);
    if (!rep.refused.empty())
      client_lost(q, rep);
    if (rep.last_seq != 0) {
      if (!q.committed)
        fail("P1: publish acked with seqs but never committed");
      for (const auto& r : q.committed->records)
        if (r.seq > h_->j.durable)
          fail("P1: publish acked before seq " + std::to_string(r.seq) + " is durable");
      for (const auto& r : q.committed->records)
        conns_[q.conn].stored_ok.push_back(r.publisher_seq);
    }
    for (auto i : rep.held)
      if (!any_safe(q.input[i].publisher, q.input[i].publisher_seq))
        fail("P1: resend of " + q.input[i].publisher + ":" + std::to_string(q.input[i].publisher_seq) +
             " acked before its original is safe");
  }

  void check_new_replies() {
    follow_core();
    for (; seen_ < h_->order.size(); ++seen_) {
      const auto token = h_->order[seen_];
      auto it = requests_.find(token);
      if (it == requests_.end())
        fail("a reply to an unknown token");
      auto& q = it->second;
      q.reply_at = seen_ + 1;
      const auto& rep = h_->replies.at(token);
      if (q.publish) {
        check_publish_reply(q, rep);
      } else if (!rep.ok) {
        peer_next_ = std::min(peer_next_, q.input.front().origin_seq); // the peer resends from there
      } else {
        for (const auto& r : q.input)
          if (!any_durable(r))
            fail("P1: replicated " + r.origin + ":" + std::to_string(r.origin_seq) + " acked but not durable here");
      }
    }
  }

  // Sync destinations a committed publish needs (its ack_tracker set).
  std::vector<bool> needs(const request& q) const {
    std::vector<bool> out;
    for (const auto& d : dests_)
      out.push_back(d.sync && std::any_of(q.committed->records.begin(), q.committed->records.end(),
                                          [&](const journal::record& r) { return admits(d, r.topic); }));
    return out;
  }

  // P4 mid-run: a publish that stored all its records is answered once durable and covered.
  void check_liveness() {
    for (const auto& [token, q] : requests_) {
      if (!q.publish || q.reply_at || !q.committed || q.committed->records.size() != q.input.size())
        continue;
      const auto last = q.committed->records.back().seq;
      bool ready = last <= h_->j.durable;
      const auto n = needs(q);
      for (std::size_t d = 0; d < dests_.size(); ++d)
        ready = ready && (!n[d] || pos_[d] >= last || downgraded_[d]);
      if (ready)
        fail("P4: publish token " + std::to_string(token) + " (seq " + std::to_string(last) +
             ") durable and covered but not answered");
    }
  }

  void check_order() {
    std::map<std::pair<std::size_t, std::vector<bool>>, std::size_t> last_at; // (conn, needs) -> reply position
    for (const auto& [token, q] : requests_) { // tokens ascend in publish order
      if (!q.publish || !q.committed)
        continue;
      const auto& rep = h_->replies.at(token);
      if (!rep.ok || !rep.held.empty() || !rep.refused.empty())
        continue;
      auto& at = last_at[{q.conn, needs(q)}];
      if (q.reply_at < at)
        fail("P2: publish token " + std::to_string(token) + " acked before an older one of its connection");
      at = q.reply_at;
    }
  }

  void check_end() {
    for (const auto& [token, q] : requests_)
      if (!q.reply_at)
        fail("P4: token " + std::to_string(token) + " never answered after the drain");
    if (h_->answered_twice)
      fail("P5: a request answered twice");
    check_order();
    check_notes_delivered();
    if (!partial_.empty())
      fail("P6: partial acks without their replicated note after the drain");
    for (std::size_t d = 0; d < dests_.size(); ++d)
      if (downgraded_[d])
        fail("destination " + dests_[d].name + " still downgraded after it caught up, connected, unheld");
    if (h_->core.replicated_notes_pending() != 0)
      fail("P5: replicated notes left pending after the drain");
    const auto& c = h_->core;
    if (c.requests_pending() || c.waiters() || c.deferred_safe_marks() || c.held_publishes_waiting() ||
        c.acks().pending() || c.acks().admitted() || c.acks().queued())
      fail("P5: state left after everything was answered: pending " + std::to_string(c.requests_pending()) +
           ", waiters " + std::to_string(c.waiters()) + ", deferred " + std::to_string(c.deferred_safe_marks()) +
           ", held " + std::to_string(c.held_publishes_waiting()) + ", acks " + std::to_string(c.acks().queued()));
  }

  std::mt19937_64 rng_;
  std::vector<dest> dests_;
  std::vector<std::uint64_t> pos_;
  std::optional<harness> h_;
  std::vector<conn> conns_;
  std::uint64_t peer_next_ = 1, q_next_ = 1;
  std::map<std::uint64_t, request> requests_;
  std::map<std::pair<std::string, std::uint64_t>, std::vector<copy>> by_publisher_, by_origin_;
  std::size_t seen_ = 0;
  // Sync downgrades (P1 with not_on, P6).
  struct partial_ack {
    std::uint64_t last_seq;
    std::uint64_t pub_seq;
    std::vector<std::size_t> missing; // destinations its not_on named
  };
  std::vector<bool> downgraded_;
  std::set<std::uint64_t> released_partially_; // local seqs acked while a destination lacked them
  std::map<std::string, std::vector<partial_ack>> partial_; // by publisher, waiting for a note
  std::size_t changes_seen_ = 0, notes_seen_ = 0;
};

} // namespace

TEST_CASE("journal_core: randomized model test of the promises") {
  const auto first = env_u64("TANDEM_MODEL_SEED", 20261204);
  const auto runs = env_u64("TANDEM_MODEL_RUNS", 3000);
  std::uint64_t failed = 0;
  for (std::uint64_t seed = first; seed < first + runs; ++seed) {
    try {
      model_run(seed).run();
    } catch (const model_failure& f) {
      ++failed;
      FAIL_CHECK("seed " << seed << " (replay: TANDEM_MODEL_SEED=" << seed << " TANDEM_MODEL_RUNS=1): " << f.what);
      if (failed >= 3)
        break;
    }
  }
  CHECK(failed == 0);
  MESSAGE("downgrades " << coverage.downgrades << ", partial acks " << coverage.partial_acks << ", notes "
                        << coverage.notes << ", answered by their commit " << coverage.answered_by_commit);
  CHECK(coverage.answered_by_commit > runs / 10);
  CHECK(coverage.downgrades > runs / 10);
  CHECK(coverage.partial_acks > runs / 10);
  CHECK(coverage.notes > runs / 10);
}

// ---- Live reconfiguration (issue 21): add, remove and change a destination ----------------------

TEST_CASE("journal_core: a publish waiting on sync B is released when B is removed (and one on C still waits)") {
  struct row {
    const char* removed;
    bool first_acked;  // publish of topic "t": needs B and C
    bool second_acked; // publish of topic "orders.1": needs B only (C's filter: only x.*)
  };
  const std::vector<row> rows = {
    {"B", false, true}, // C still holds the first
    {"C", false, false}, // B holds both
    {"Y", false, false}, // an async one never held anything
    {"nope", false, false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.removed);
    harness h(dests({{"B", true}, {"C", true}, {"Y", false}}, {".*", "t", ".*"}));
    auto t1 = h.publish({rec("p", 1, "t")});
    auto t2 = h.publish({rec("p", 2, "orders.1")});
    h.commit();
    h.commit();
    REQUIRE_FALSE(h.answered(t1));
    REQUIRE_FALSE(h.answered(t2));
    h.core.remove_destination(r.removed);
    h.take();
    CHECK(h.answered(t1) == r.first_acked);
    CHECK(h.answered(t2) == r.second_acked);
    CHECK_FALSE(h.core.has_destination(r.removed));
    if (std::string{r.removed} == "B") {
      h.ack("C", 1);
      CHECK(h.answered(t1));
      CHECK(h.reply(t1).ok);
      CHECK(h.reply(t1).not_on.empty());
    }
  }
}

TEST_CASE("journal_core: removing the only sync destination releases every waiting publish, with a warning") {
  harness h(dests({{"B", true}}));
  std::vector<std::uint64_t> tokens;
  for (std::uint64_t i = 1; i <= 3; ++i)
    tokens.push_back(h.publish({rec("p", i)}));
  for (int i = 0; i < 3; ++i)
    h.commit();
  CHECK(h.core.waiting_on() == std::vector<std::string>{"B"});
  h.core.remove_destination("B");
  auto r = h.core.ready();
  REQUIRE(r.replies.size() == 3);
  for (const auto& rep : r.replies)
    CHECK(rep.body.ok);
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].text.find("B removed") != std::string::npos);
  CHECK(r.notes[0].text.find("3 publish(es)") != std::string::npos);
  CHECK(h.core.waiting_on().empty());
  CHECK(h.core.release_bound() == 3);
  h.ack("B", 3); // a late ack of its stopped link: ignored
  CHECK(h.core.requests_pending() == 0);
}

TEST_CASE("journal_core: a sync destination added mid-stream acks from the oldest held; waiting publishes keep "
          "their needs, new ones wait for it") {
  fake_journal start;
  harness h(dests({{"B", true}}), start);
  auto old_publish = h.publish({rec("p", 1)});
  h.commit();
  REQUIRE_FALSE(h.answered(old_publish));
  h.core.add_destination({"N", true, ".*", 0}, h.now);
  h.take();
  CHECK(h.core.has_destination("N"));
  auto new_publish = h.publish({rec("p", 2)});
  h.commit();
  h.ack("B", 2);
  CHECK(h.answered(old_publish)); // kept its needs: B only
  CHECK_FALSE(h.answered(new_publish)); // waits for N, which starts at 0 (the oldest record held)
  CHECK(h.core.waiting_on() == std::vector<std::string>{"N"});
  CHECK(h.core.release_bound() == 0);
  h.ack("N", 1);
  CHECK_FALSE(h.answered(new_publish));
  h.ack("N", 2);
  CHECK(h.answered(new_publish));
  CHECK(h.core.release_bound() == 2);
}

TEST_CASE("journal_core: an added destination the journal knew resumes from its persisted position") {
  fake_journal start;
  start.positions["N"] = 7;
  harness h(dests({}), start);
  h.core.add_destination({"N", false, ".*", 0}, h.now);
  auto r = h.core.ready();
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].text.find("after seq 7") != std::string::npos);
  CHECK(h.core.acks().destination_position(0) == 7);
}

TEST_CASE("journal_core: changes of sync_type, topics and downgrade_after_ms take effect as docs/config.md says") {
  SUBCASE("sync -> async releases the waiting publishes at once") {
    harness h(dests({{"B", true}}));
    auto t = h.publish({rec("p", 1)});
    h.commit();
    h.core.change_destination({"B", false, ".*", 0}, h.now);
    h.take();
    CHECK(h.answered(t));
  }
  SUBCASE("async -> sync holds the publishes accepted from now on only") {
    harness h(dests({{"B", false}, {"S", true}}));
    auto before = h.publish({rec("p", 1)});
    h.commit();
    h.core.change_destination({"B", true, ".*", 0}, h.now);
    h.take();
    auto after = h.publish({rec("p", 2)});
    h.commit();
    h.ack("S", 2);
    CHECK(h.answered(before));
    CHECK_FALSE(h.answered(after));
    h.ack("B", 2);
    CHECK(h.answered(after));
  }
  SUBCASE("topics: publishes accepted from now on follow the new filter, waiting ones keep theirs") {
    harness h(dests({{"B", true}}, {"orders\\..*"}));
    auto waiting = h.publish({rec("p", 1, "orders.1")});
    h.commit();
    h.core.change_destination({"B", true, "logs\\..*", 0}, h.now);
    h.take();
    auto orders = h.publish({rec("p", 2, "orders.2")});
    auto logs = h.publish({rec("p", 3, "logs.1")});
    h.commit();
    h.commit();
    CHECK_FALSE(h.answered(waiting)); // admitted by the old filter: still needs B
    CHECK(h.answered(orders));        // the new filter does not admit it
    CHECK_FALSE(h.answered(logs));
    h.ack("B", 3);
    CHECK(h.answered(waiting));
    CHECK(h.answered(logs));
  }
  SUBCASE("downgrade_after_ms: a full delay from the change on, then the age rule releases") {
    harness h(dests({{"B", true}}));
    h.now = 1000;
    auto t = h.publish({rec("p", 1)});
    h.commit();
    h.now = 5000;
    h.core.change_destination({"B", true, ".*", 100}, h.now);
    h.take();
    CHECK(h.core.wants_ticks());
    h.now = 5050;
    h.tick();
    CHECK_FALSE(h.answered(t));
    h.now = 5200;
    h.tick();
    REQUIRE(h.answered(t));
    CHECK(h.reply(t).not_on == std::vector<std::string>{"B"});
  }
}

TEST_CASE("journal_core: a removed destination's partial acks no longer wait for it; a re-added name is new") {
  harness h(dests({{"B", true}}));
  h.admin("B", true); // downgraded: acks are partial
  auto t = h.publish({rec("p", 1)});
  h.commit();
  REQUIRE(h.answered(t));
  REQUIRE(h.reply(t).not_on == std::vector<std::string>{"B"});
  CHECK(h.core.replicated_notes_pending() == 1);
  h.core.remove_destination("B");
  h.take();
  CHECK(h.core.replicated_notes_pending() == 0);
  REQUIRE(h.notes.size() == 1);
  CHECK(h.notes[0].publisher == "p");
  CHECK(h.admin("B", false) == admin_outcome::unknown_destination);
  h.core.add_destination({"B", true, ".*", 0}, h.now);
  h.take();
  auto t2 = h.publish({rec("p", 2)});
  h.commit();
  CHECK_FALSE(h.answered(t2)); // the new B is sync and not downgraded
  h.ack("B", 2);
  CHECK(h.answered(t2));
}

TEST_CASE("journal_core: a repair append stores records below the origin high-water mark, still checked") {
  harness h(dests({}));
  h.append({replicated("B", 1), replicated("B", 2), replicated("B", 7)});
  h.commit();
  // B:3..5 lie below B's high-water (7): a normal append drops them as duplicates...
  auto normal = h.append({replicated("B", 3)});
  CHECK(h.queued.empty());
  CHECK(h.reply(normal).first_seq == 0);
  // ...a repair (the digest scanner found them missing in the journal) stores them.
  auto t = h.next_token++;
  h.core.step(journal_events::append{t, {replicated("B", 3), replicated("B", 4)}, true});
  h.take();
  REQUIRE(h.queued.size() == 1);
  CHECK(h.queued.front().records.size() == 2);
  h.commit();
  CHECK(h.reply(t).ok);
  // Checked like any replicated record: one breaking the record limits refuses the repair whole.
  auto bad = replicated("B", 5);
  bad.topic.assign(journal::format::max_topic_bytes + 1, 't');
  auto r = h.next_token++;
  h.core.step(journal_events::append{r, {bad}, true});
  h.take();
  CHECK(h.queued.empty());
  CHECK(h.reply(r).error_code == "invalid_record");
  // A repaired record above the high-water raises it: its normal copy later is a duplicate.
  auto above = h.next_token++;
  h.core.step(journal_events::append{above, {replicated("B", 9)}, true});
  h.take();
  h.commit();
  h.append({replicated("B", 9)});
  CHECK(h.queued.empty());
}
